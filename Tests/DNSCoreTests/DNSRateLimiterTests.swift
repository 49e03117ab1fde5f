import Testing
@testable import DNSCore

@Suite("UDP response rate limiting")
struct DNSRateLimiterTests {
    @Test("a burst is allowed, then every second response slips and the rest drop")
    func burstThenSlip() {
        var limiter = DNSRateLimiter(responsesPerSecond: 10, burst: 3, slip: 2)
        let client = ip("192.0.2.1")
        let decisions = (0..<7).map { _ in limiter.decide(client: client, now: 100) }
        #expect(decisions == [.allow, .allow, .allow, .drop, .slip, .drop, .slip])
    }

    @Test("tokens refill with time on the injected clock")
    func refill() {
        var limiter = DNSRateLimiter(responsesPerSecond: 10, burst: 2, slip: 0)
        let client = ip("192.0.2.1")
        #expect(limiter.decide(client: client, now: 0) == .allow)
        #expect(limiter.decide(client: client, now: 0) == .allow)
        #expect(limiter.decide(client: client, now: 0) == .drop)
        #expect(limiter.decide(client: client, now: 0.1) == .allow)
        #expect(limiter.decide(client: client, now: 0.1) == .drop)
        #expect(limiter.decide(client: client, now: 10) == .allow)
    }

    @Test("addresses in the same /24 or /56 share a bucket; other networks do not")
    func networks() {
        var limiter = DNSRateLimiter(responsesPerSecond: 1, burst: 1, slip: 0)
        #expect(limiter.decide(client: ip("192.0.2.1"), now: 0) == .allow)
        #expect(limiter.decide(client: ip("192.0.2.200"), now: 0) == .drop)
        #expect(limiter.decide(client: ip("::ffff:192.0.2.9"), now: 0) == .drop)
        #expect(limiter.decide(client: ip("192.0.3.1"), now: 0) == .allow)
        #expect(limiter.decide(client: ip("2001:db8:0:1::1"), now: 0) == .allow)
        #expect(limiter.decide(client: ip("2001:db8:0:1:ffff::1"), now: 0) == .drop)
        #expect(limiter.decide(client: ip("2001:db8:0:100::1"), now: 0) == .allow)
    }

    @Test("the tracked table stays bounded")
    func bounded() {
        var limiter = DNSRateLimiter(responsesPerSecond: 1, burst: 1, maxTracked: 100)
        for i in 0..<1000 { _ = limiter.decide(client: [10, UInt8(i / 256), UInt8(i % 256), 1], now: 0) }
        #expect(limiter.trackedCount <= 100)
    }

    @Test("the slip response is a truncated, record-free reply to the query")
    func slipResponse() throws {
        let responder = DNSResponder(zone: sampleZone())
        let bytes = responder.slipResponse(to: query("smtp.relay.example", .a, id: 99, edns: .init()))!
        let reply = try DNSMessage(decoding: bytes)
        #expect(reply.id == 99 && reply.isTruncated && reply.isResponse && reply.answers.isEmpty && reply.edns != nil)
        #expect(reply.questions.first?.name == name("smtp.relay.example"))
        #expect(responder.slipResponse(to: [1, 2, 3]) == nil)
    }
}
