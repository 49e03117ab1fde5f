import DeliveryCore
import DeliveryEngine
import Foundation
import RelayConfig
import SpoolStore
import Testing

/// Issue 12: only a recipient-specific hard failure may suppress. The scriptable receiver (on 127.95.1.1)
/// answers one SMTP stage with the same "550 5.1.1 … User unknown"; at RCPT TO it names the recipient. At
/// connect, EHLO/HELO and MAIL FROM it refuses the connection or the envelope sender (the event's class is
/// `policy`) and suppresses nobody. To DATA or after the message it speaks for the whole transaction (class
/// kept): when the transaction accepted exactly one recipient it can only be about that one, who is
/// suppressed; with two accepted nobody is (those tests on 127.102.1.1).
@Suite("Delivery: a bad mailbox suppresses only when refused at RCPT TO, or at DATA for a lone recipient")
struct DeliveryStageTests {
    static let host = "127.95.1.1"
    static let dataHost = "127.102.1.1"
    static let unknownUser = "550 5.1.1 <someone@dest.test>: Recipient address rejected: User unknown in local recipient table"

    /// One message to a receiver answering every verb of `verbs` with `unknownUser`: its first outcome event and
    /// whether the recipient is on the tenant's suppression list once the engine settled (or, with
    /// `awaitSuppression`, once the suppression committed).
    func outcome(_ id: String, verbs: Set<String>, awaitSuppression: Bool = false) throws -> (event: Event?, suppressed: Bool, log: String) {
        let result = try outcomes(id, verbs: verbs, recipients: ["someone@dest.test"], host: Self.host, awaitSuppression: awaitSuppression)
        return (result.events.first, result.suppressed[0], result.log)
    }

    /// `outcome` for one message to all of `recipients` (one transaction) on a receiver at `host`: their
    /// outcome events and, per recipient, whether it is on the suppression list.
    func outcomes(_ id: String, verbs: Set<String>, recipients: [String], host: String,
                  awaitSuppression: Bool = false) throws -> (events: [Event], suppressed: [Bool], log: String) {
        let server = try FakeSMTPServer(behavior: .init(script: { step in verbs.contains(step.verb) ? .line(Self.unknownUser) : nil }),
                                        ip: host)
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port], host: host)]))
        defer { h.shutdown() }
        h.enqueue(id, to: recipients)
        let events = h.waitForOutcome(id, count: recipients.count)
        let suppressed = { recipients.map { ((try? h.store.suppression(tenant: "acme", address: $0)) ?? nil) != nil } }
        if awaitSuppression {
            h.wait { suppressed().allSatisfy { $0 } }
            return (events, suppressed(), h.logText)
        }
        h.settle()
        return (events, suppressed(), h.logText)
    }

    @Test("550 5.1.1 at RCPT TO bounces as bad-mailbox and suppresses the recipient")
    func atRecipient() throws {
        let result = try outcome("s-rcpt", verbs: ["RCPT"], awaitSuppression: true)
        #expect(result.event?.type == .bounced, "\(result.log)")
        #expect(result.event?.bounceClass == "bad-mailbox")
        #expect(result.suppressed)
    }

    @Test("550 5.1.1 at the greeting, at EHLO and HELO, or at MAIL FROM bounces as policy and suppresses nobody",
          arguments: [["CONNECT"], ["EHLO", "HELO"], ["MAIL"]])
    func beforeRecipient(verbs: [String]) throws {
        let result = try outcome("s-\(verbs[0].lowercased())", verbs: Set(verbs))
        #expect(result.event?.type == .bounced, "\(verbs): \(result.log)")
        #expect(result.event?.bounceClass == "policy", "\(verbs)")
        #expect(result.event?.smtpCode == 550 && result.event?.enhancedCode == "5.1.1")
        #expect(!result.suppressed, "\(verbs)")
    }

    @Test("550 5.1.1 to DATA or after the message of a transaction with one accepted recipient: bad-mailbox, and that recipient is suppressed",
          arguments: ["DATA", "BODY"])
    func afterLoneRecipient(verb: String) throws {
        let result = try outcomes("s-\(verb.lowercased())-1", verbs: [verb], recipients: ["someone@dest.test"], host: Self.dataHost,
                                  awaitSuppression: true)
        #expect(result.events.map(\.type) == [.bounced], "\(verb): \(result.log)")
        #expect(result.events.first?.bounceClass == "bad-mailbox", "\(verb)")
        #expect(result.events.first?.smtpCode == 550 && result.events.first?.enhancedCode == "5.1.1")
        #expect(result.suppressed == [true], "\(verb)")
    }

    @Test("550 5.1.1 to DATA or after the message with two accepted recipients keeps bad-mailbox but suppresses nobody (it answers for the transaction)",
          arguments: ["DATA", "BODY"])
    func afterTwoRecipients(verb: String) throws {
        let result = try outcomes("s-\(verb.lowercased())-2", verbs: [verb], recipients: ["someone@dest.test", "other@dest.test"],
                                  host: Self.dataHost)
        #expect(result.events.map(\.type) == [.bounced, .bounced], "\(verb): \(result.log)")
        #expect(result.events.allSatisfy { $0.bounceClass == "bad-mailbox" }, "\(verb)")
        #expect(result.suppressed == [false, false], "\(verb)")
    }
}
