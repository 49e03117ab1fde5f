import DeliveryCore
import DeliveryEngine
import Foundation
import RelayConfig
import SpoolStore
import Testing

/// Issue 12: only a recipient-specific hard failure may suppress. The scriptable receiver (on 127.95.1.1)
/// answers one SMTP stage with the same "550 5.1.1 … User unknown"; only at RCPT TO does it name the
/// recipient. At connect, EHLO/HELO and MAIL FROM it refuses the connection or the envelope sender (the event's
/// class is `policy`); after DATA or the message it speaks for the whole transaction (class kept). Neither
/// suppresses the recipient.
@Suite("Delivery: a bad mailbox suppresses only when refused at RCPT TO")
struct DeliveryStageTests {
    static let host = "127.95.1.1"
    static let unknownUser = "550 5.1.1 <someone@dest.test>: Recipient address rejected: User unknown in local recipient table"

    /// One message to a receiver answering every verb of `verbs` with `unknownUser`: its first outcome event and
    /// whether the recipient is on the tenant's suppression list once the engine settled (or, with
    /// `awaitSuppression`, once the suppression committed).
    func outcome(_ id: String, verbs: Set<String>, awaitSuppression: Bool = false) throws -> (event: Event?, suppressed: Bool, log: String) {
        let server = try FakeSMTPServer(behavior: .init(script: { step in verbs.contains(step.verb) ? .line(Self.unknownUser) : nil }),
                                        ip: Self.host)
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port], host: Self.host)]))
        defer { h.shutdown() }
        h.enqueue(id, to: ["someone@dest.test"])
        let event = h.waitForOutcome(id).first
        let suppressed = { ((try? h.store.suppression(tenant: "acme", address: "someone@dest.test")) ?? nil) != nil }
        if awaitSuppression { return (event, h.wait { suppressed() }, h.logText) }
        h.settle()
        return (event, suppressed(), h.logText)
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

    @Test("550 5.1.1 to DATA or after the message keeps bad-mailbox but suppresses nobody (it answers for the transaction)",
          arguments: ["DATA", "BODY"])
    func afterRecipients(verb: String) throws {
        let result = try outcome("s-\(verb.lowercased())", verbs: [verb])
        #expect(result.event?.type == .bounced, "\(verb): \(result.log)")
        #expect(result.event?.bounceClass == "bad-mailbox", "\(verb)")
        #expect(!result.suppressed, "\(verb)")
    }
}
