import Testing
@testable import DNSCore

@Suite("UDP response rate limiting")
struct DNSRateLimiterTests {
    static let ingressA = DNSRateLimiter.Category.answer(name: name("smtp.relay.example"), type: .a)

    @Test("one second's worth is allowed, then every second response slips and the rest drop")
    func burstThenSlip() {
        var limiter = DNSRateLimiter(responsesPerSecond: 3, slip: 2)
        let client = ip("192.0.2.1")
        let decisions = (0..<7).map { _ in limiter.decide(client: client, category: Self.ingressA, now: 100) }
        #expect(decisions == [.allow, .allow, .allow, .drop, .slip, .drop, .slip])
    }

    @Test("slip 0 drops every limited response, slip 1 truncates every one")
    func slipSettings() {
        var none = DNSRateLimiter(responsesPerSecond: 1, slip: 0)
        var all = DNSRateLimiter(responsesPerSecond: 1, slip: 1)
        let c = ip("192.0.2.1")
        #expect((0..<4).map { _ in none.decide(client: c, category: Self.ingressA, now: 0) } == [.allow, .drop, .drop, .drop])
        #expect((0..<4).map { _ in all.decide(client: c, category: Self.ingressA, now: 0) } == [.allow, .slip, .slip, .slip])
    }

    @Test("tokens refill with time on the injected clock, up to one second's worth")
    func refill() {
        var limiter = DNSRateLimiter(responsesPerSecond: 2, slip: 0, window: 1)
        let client = ip("192.0.2.1")
        #expect(limiter.decide(client: client, category: Self.ingressA, now: 0) == .allow)
        #expect(limiter.decide(client: client, category: Self.ingressA, now: 0) == .allow)
        #expect(limiter.decide(client: client, category: Self.ingressA, now: 0) == .drop)
        // The drop cost a token too: after 0.5 s the balance is 0, after 1 s it is 1.
        #expect(limiter.decide(client: client, category: Self.ingressA, now: 0.5) == .drop)
        #expect(limiter.decide(client: client, category: Self.ingressA, now: 1.5) == .allow)
        // Long idle: the bucket holds at most 2.
        let later = (0..<3).map { _ in limiter.decide(client: client, category: Self.ingressA, now: 100) }
        #expect(later == [.allow, .allow, .drop])
    }

    @Test("a client that keeps flooding stays limited until it has been quiet for the window")
    func windowDebt() {
        var limiter = DNSRateLimiter(responsesPerSecond: 10, slip: 0, window: 5)
        let c = ip("192.0.2.1")
        var allowed = 0
        // 1,000 queries per second for 3 seconds: only the first second's 10 are answered.
        for i in 0..<3000 where limiter.decide(client: c, category: Self.ingressA, now: Double(i) / 1000) == .allow {
            allowed += 1
        }
        #expect(allowed == 10)
        // The debt is capped at window × rate = 50: after 5 s of silence (+1 token) it answers again.
        #expect(limiter.decide(client: c, category: Self.ingressA, now: 3 + 4.9) == .drop)
        #expect(limiter.decide(client: c, category: Self.ingressA, now: 3 + 4.9 + 5.2) == .allow)
    }

    @Test("NXDOMAIN and errors use errorsPerSecond and share one account per network; answers are per name and type")
    func categories() {
        var limiter = DNSRateLimiter(responsesPerSecond: 2, errorsPerSecond: 1, slip: 0)
        let c = ip("192.0.2.1")
        #expect(limiter.decide(client: c, category: .nxdomain, now: 0) == .allow)
        #expect(limiter.decide(client: c, category: .nxdomain, now: 0) == .drop)
        #expect(limiter.decide(client: c, category: .error, now: 0) == .allow)
        #expect(limiter.decide(client: c, category: .error, now: 0) == .drop)
        for _ in 0..<2 { #expect(limiter.decide(client: c, category: Self.ingressA, now: 0) == .allow) }
        #expect(limiter.decide(client: c, category: Self.ingressA, now: 0) == .drop)
        // Another type, another name, or the same name in other case: separate / same accounts.
        #expect(limiter.decide(client: c, category: .answer(name: name("smtp.relay.example"), type: .aaaa), now: 0) == .allow)
        #expect(limiter.decide(client: c, category: .answer(name: name("SMTP.relay.EXAMPLE"), type: .a), now: 0) == .drop)
        #expect(limiter.decide(client: c, category: .nodata(name: name("smtp.relay.example")), now: 0) == .allow)
        // A rate of 0 is unlimited.
        var open = DNSRateLimiter(responsesPerSecond: 0, errorsPerSecond: 1, slip: 0)
        for _ in 0..<100 { #expect(open.decide(client: c, category: Self.ingressA, now: 0) == .allow) }
    }

    @Test("responses are classified by response code and answer count")
    func classification() throws {
        let responder = DNSResponder(zone: sampleZone())
        func category(_ q: [UInt8]) -> DNSRateLimiter.Category {
            .init(responseBytes: responder.respond(to: q, transport: .udp, client: ip("192.0.2.1"))!)
        }
        #expect(category(query("smtp.relay.example", .a)) == Self.ingressA)
        #expect(category(query("smtp.relay.example", .mx)) == .nodata(name: name("smtp.relay.example")))
        #expect(category(query("nope.relay.example", .a)) == .nxdomain)
        #expect(category(query("example.org", .a)) == .error)
        #expect(category([1, 2, 3, 4, 5]) == .error)  // FORMERR, header only
    }

    @Test("addresses in the same /24 or /56 share an account; other networks do not")
    func networks() {
        var limiter = DNSRateLimiter(responsesPerSecond: 1, slip: 0)
        func d(_ a: String) -> DNSRateLimiter.Decision { limiter.decide(client: ip(a), category: Self.ingressA, now: 0) }
        #expect(d("192.0.2.1") == .allow)
        #expect(d("192.0.2.200") == .drop)
        #expect(d("::ffff:192.0.2.9") == .drop)
        #expect(d("192.0.3.1") == .allow)
        #expect(d("2001:db8:0:1::1") == .allow)
        #expect(d("2001:db8:0:1:ffff::1") == .drop)
        #expect(d("2001:db8:0:100::1") == .allow)
        var wide = DNSRateLimiter(responsesPerSecond: 1, slip: 0, ipv4PrefixLength: 16)
        #expect(wide.decide(client: ip("192.0.2.1"), category: Self.ingressA, now: 0) == .allow)
        #expect(wide.decide(client: ip("192.0.3.1"), category: Self.ingressA, now: 0) == .drop)
    }

    @Test("the tracked table stays bounded")
    func bounded() {
        var limiter = DNSRateLimiter(responsesPerSecond: 1, maxTracked: 100)
        for i in 0..<1000 { _ = limiter.decide(client: [10, UInt8(i / 256), UInt8(i % 256), 1], category: .nxdomain, now: 0) }
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
