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

    @Test("Gmail's 421 at RCPT is a rate-limited deferral whose response is the receiver's reply, not a timeout")
    func rateLimitAtRecipient() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { step in
            step.verb == "RCPT" ? .line(Self.gmail421) : nil
        }))
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]))
        defer { h.shutdown() }
        h.enqueue("c1", to: ["a@dest.test"])
        let event = h.waitForOutcome("c1").first
        #expect(event?.type == .deferred)
        #expect(event?.bounceClass == "rate-limited", "\(h.logText)")
        #expect(event?.smtpCode == 421 && event?.enhancedCode == "4.7.28")
        #expect(event?.response?.hasPrefix("421 4.7.28 ") == true, "\(event?.response ?? "")")
        #expect(event?.response?.contains("said:") == false)
    }

    @Test("Too many connections at the greeting is a rate-limited deferral")
    func rateLimitAtGreeting() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { step in
            step.verb == "CONNECT" ? .line("421 4.7.0 Too many connections from your IP, try again later") : nil
        }))
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]))
        defer { h.shutdown() }
        h.enqueue("c2", to: ["a@dest.test"])
        let event = h.waitForOutcome("c2").first
        #expect(event?.type == .deferred)
        #expect(event?.bounceClass == "rate-limited", "\(h.logText)")
    }

    @Test("Yahoo's TSS09 block at RCPT bounces as reputation-block and does not suppress the recipient")
    func ipBlockDoesNotSuppress() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { step in
            step.verb == "RCPT"
                ? .line("553 5.7.2 [TSS09] All messages from <IP> will be permanently deferred; Retrying will NOT succeed") : nil
        }))
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]))
        defer { h.shutdown() }
        h.enqueue("c3", to: ["someone@dest.test"])
        let event = h.waitForOutcome("c3").first
        #expect(event?.type == .bounced)
        #expect(event?.bounceClass == "reputation-block")
        h.settle()
        #expect(try h.store.suppression(tenant: "acme", address: "someone@dest.test") == nil)
    }
}
