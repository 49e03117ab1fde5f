import SpoolStore
import Testing

/// The spool machine's handling of bounces that arrive after delivery (DSNs to VERP addresses).
@Suite("Asynchronous bounces in the spool machine")
struct AsyncBounceTests {
    static func bounce(permanent: Bool, suppress: Bool) -> SpoolCommand.AsyncBounce {
        SpoolCommand.AsyncBounce(tenant: "acme", recipient: "Bob@Example.org", sender: "app@example.com", messageID: "m1@example.com",
                                 queueID: "Q1", permanent: permanent, smtpCode: permanent ? 550 : 451,
                                 enhancedCode: permanent ? "5.1.1" : "4.4.7", response: "diagnostic", remoteHost: "mx.example.org",
                                 bounceClass: permanent ? "bad-mailbox" : "timeout", timestamp: 1_000, suppress: suppress)
    }

    @Test("a permanent failure becomes one bounced event with the report's fields and, when asked, a hard-bounce suppression")
    func permanent() {
        let t = SpoolMachine.apply(.asyncBounce(Self.bounce(permanent: true, suppress: true)), current: nil, index: 42)
        #expect(t.rejection == nil)
        #expect(t.message == .unchanged)
        #expect(t.events.count == 1)
        let e = t.events[0]
        #expect(e.id == "42-0")
        #expect(e.type == .bounced)
        #expect(e.queueId == "Q1" && e.messageId == "m1@example.com" && e.tenant == "acme" && e.sender == "app@example.com")
        #expect(e.smtpCode == 550 && e.enhancedCode == "5.1.1" && e.bounceClass == "bad-mailbox" && e.remoteHost == "mx.example.org")
        #expect(t.suppression == .add(SpoolCommand.Suppression(tenant: "acme", address: "bob@example.org", reason: "hard-bounce",
                                                               createdAt: 1_000)))
    }

    @Test("a delay becomes a deferred event and never a suppression")
    func delayed() {
        let t = SpoolMachine.apply(.asyncBounce(Self.bounce(permanent: false, suppress: false)), current: nil, index: 7)
        #expect(t.events.map(\.type) == [.deferred])
        #expect(t.suppression == nil)
    }
}
