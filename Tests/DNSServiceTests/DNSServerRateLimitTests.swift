import DNSCore
import Foundation
import Testing
@testable import DNSService

@Suite("DNS server response rate limiting and minimal ANY, against dig")
struct DNSServerRateLimitTests {
    @Test("over the UDP limit dig gets a truncated empty reply (slip 1), TCP and another /24 still get answers")
    func udpLimitedTCPNot() throws {
        // 0.01 per second: one answer, then nothing refills during the test.
        let server = try DNSServer(listen: ["127.0.0.1:0", "127.0.1.1:0"], zone: testZone(),
                                   rateLimit: DNSRateLimiter(responsesPerSecond: 0.01, slip: 1))
        defer { server.stop() }
        let first = try dig(server.port, ["smtp.relay.example", "A", "+norec", "+ignore"])
        #expect(first.contains("flags: qr aa;") && digAddresses(first) == ["10.0.0.1", "10.0.0.2"], "\(first)")
        let second = try dig(server.port, ["smtp.relay.example", "A", "+norec", "+ignore"])
        #expect(second.contains("flags: qr tc;") && second.contains("ANSWER: 0"), "\(second)")
        #expect(server.responsesLimited == 1)
        // Another name is another account; TCP is never limited.
        #expect(digAddresses(try dig(server.port, ["n2.relay.example", "A", "+ignore"])) == ["10.0.0.2"])
        for _ in 0..<3 {
            #expect(digAddresses(try dig(server.port, ["smtp.relay.example", "A", "+norec", "+tcp"])) == ["10.0.0.1", "10.0.0.2"])
        }
        // dig without +ignore retries the truncated reply over TCP and gets the answer.
        let retried = try dig(server.port, ["smtp.relay.example", "A", "+norec"])
        #expect(retried.contains("Truncated, retrying in TCP mode") && digAddresses(retried) == ["10.0.0.1", "10.0.0.2"], "\(retried)")
        // A client in another /24 has its own account.
        let other = server.boundAddresses[1]
        let out = try run("/usr/bin/dig", ["@127.0.1.1", "-b", "127.0.1.1", "-p", "\(other.port)", "+tries=1", "+time=3",
                                           "+ignore", "smtp.relay.example", "A"])
        #expect(!out.contains(" tc") && digAddresses(out) == ["10.0.0.1", "10.0.0.2"], "\(out)")
    }

    @Test("without a limiter every UDP query is answered")
    func unlimited() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone())
        defer { server.stop() }
        for _ in 0..<5 {
            #expect(digAddresses(try dig(server.port, ["smtp.relay.example", "A", "+ignore"])) == ["10.0.0.1", "10.0.0.2"])
        }
        #expect(server.responsesLimited == 0)
    }

    @Test("dig ANY gets one HINFO \"RFC8482\" \"\" record over UDP and TCP")
    func anyMinimal() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone())
        defer { server.stop() }
        for extra in [[], ["+tcp"], ["+noedns"]] {
            let out = try dig(server.port, ["relay.example", "ANY", "+norec"] + extra)
            #expect(out.contains("ANSWER: 1,") && out.contains("HINFO\t\"RFC8482\" \"\""), "\(out)")
            #expect(!out.contains("SOA") && !out.contains("\tMX\t") && !out.contains("v=spf1"), "\(out)")
        }
        let missing = try dig(server.port, ["nope.relay.example", "ANY"])
        #expect(missing.contains("status: NXDOMAIN"))
    }
}
