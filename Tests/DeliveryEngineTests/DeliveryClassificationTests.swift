import DeliveryCore
import DeliveryEngine
import Foundation
import RelayConfig
import SpoolStore
import Testing

/// Issue 12: events are classified from the receiver's own reply, whatever stage it came at, and a
/// security/policy refusal never suppresses the recipient.
@Suite("Delivery classification from the remote reply")
struct DeliveryClassificationTests {
    static let gmail421 = "421-4.7.28 [127.0.0.1] Our system has detected an unusual rate of\r\n421-4.7.28 unsolicited mail originating from your IP address. To protect our\r\n421 4.7.28 users from spam, mail sent from your IP address has been temporarily rate limited. - gsmtp"

    /// Sends one message to a receiver answering `verb` with `reply` and returns its first outcome
    /// event (and whether the recipient ended on the tenant's suppression list).
    /// With `awaitSuppression` it waits for the suppression to commit, else until the engine settled.
    func outcome(_ id: String, verb: String, reply: String, awaitSuppression: Bool = false) throws -> (event: Event?, suppressed: Bool) {
        let server = try FakeSMTPServer(behavior: .init(script: { step in step.verb == verb ? .line(reply) : nil }))
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]))
        defer { h.shutdown() }
        h.enqueue(id, to: ["someone@dest.test"])
        let event = h.waitForOutcome(id).first
        let suppressed = { ((try? h.store.suppression(tenant: "acme", address: "someone@dest.test")) ?? nil) != nil }
        if awaitSuppression { return (event, h.wait { suppressed() }) }
        h.settle()
        return (event, suppressed())
    }

    @Test("Gmail's 421 at RCPT is a rate-limited deferral whose response is the receiver's reply, not a timeout")
    func rateLimitAtRecipient() throws {
        let event = try outcome("c1", verb: "RCPT", reply: Self.gmail421).event
        #expect(event?.type == .deferred)
        #expect(event?.bounceClass == "rate-limited")
        #expect(event?.smtpCode == 421 && event?.enhancedCode == "4.7.28")
        #expect(event?.response?.hasPrefix("421 4.7.28 ") == true, "\(event?.response ?? "")")
        #expect(event?.response?.contains("said:") == false)
    }

    @Test("Too many connections at the greeting is a rate-limited deferral")
    func rateLimitAtGreeting() throws {
        let event = try outcome("c2", verb: "CONNECT", reply: "421 4.7.0 Too many connections from your IP, try again later").event
        #expect(event?.type == .deferred)
        #expect(event?.bounceClass == "rate-limited")
    }

    @Test("Yahoo's TSS09 block at RCPT bounces as reputation-block and does not suppress the recipient")
    func ipBlockDoesNotSuppress() throws {
        let result = try outcome("c3", verb: "RCPT",
                                 reply: "553 5.7.2 [TSS09] All messages from <IP> will be permanently deferred; Retrying will NOT succeed")
        #expect(result.event?.type == .bounced)
        #expect(result.event?.bounceClass == "reputation-block")
        #expect(!result.suppressed)
    }

    @Test("a 5.1.1 unknown user at RCPT still bounces as bad-mailbox and suppresses the recipient")
    func badMailboxSuppresses() throws {
        let result = try outcome("c4", verb: "RCPT", reply: "550 5.1.1 <someone@dest.test>: Recipient address rejected: User unknown",
                                 awaitSuppression: true)
        #expect(result.event?.bounceClass == "bad-mailbox")
        #expect(result.suppressed)
    }
    @Test("a rate limit slows the provider but moves no traffic: the next message leaves from the same source address")
    func rateLimitKeepsSource() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { step in
            step.verb == "RCPT" && step.clientIP == "127.0.0.2" ? .line("450 4.7.28 rate limited, slow down") : nil
        }))
        defer { server.stop() }
        var config = EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])])
        config.delivery.sourceAddresses = [IPAddress("127.0.0.2")!, IPAddress("127.0.0.3")!]
        var options = EngineHarness.testOptions()
        options.retrySteps = [600]
        options.shaping = ShapingPolicy.Configuration(all: ShapingPolicy.Override(maxMessagesPerConnection: 1))
        let h = try EngineHarness(config: config, options: options)
        defer { h.shutdown() }
        h.enqueue("r1", to: ["a@dest.test"])
        #expect(h.waitForOutcome("r1").first?.bounceClass == "rate-limited")
        h.enqueue("r2", to: ["b@dest.test"])
        #expect(h.waitForOutcome("r2").first?.bounceClass == "rate-limited")
        #expect(server.records.withLock { $0.clientIPs } == ["127.0.0.2", "127.0.0.2"])
    }
}
