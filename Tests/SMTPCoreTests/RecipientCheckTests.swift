import Testing
@testable import SMTPCore

/// Recipient verification on the relay port (VERP and feedback addresses at bounce domains).
@Suite("Relay-port recipient verification")
struct RecipientCheckTests {
    static let check: @Sendable (String) -> Bool? = { address in
        if address == "bounce-q1-0-q-goodtag1@bounces.example.com" { return true }
        if address.hasSuffix("@bounces.example.com") { return false }
        return nil
    }

    @Test("a verified address is accepted without being a local domain, an unknown one at a bounce domain gets 550 5.1.1, others follow the relay rules")
    func relay() {
        var harness = Harness(.init(hostname: "mx.test", portKind: .relay, localDomains: ["local.test"]), recipientCheck: Self.check)
        harness.input("EHLO c\r\nMAIL FROM:<>\r\n")
        let sent = harness.input("RCPT TO:<bounce-q1-0-q-goodtag1@bounces.example.com>\r\n"
                                 + "RCPT TO:<bounce-q1-0-q-forged11@bounces.example.com>\r\n"
                                 + "RCPT TO:<someone@local.test>\r\nRCPT TO:<someone@elsewhere.test>\r\n")
        #expect(Harness.codes(sent) == [250, 550, 250, 554])
        #expect(sent.contains("550 5.1.1 "))
        harness.input("DATA\r\nx\r\n.\r\n")
        #expect(harness.enqueued.first?.envelope.recipients.map(\.address.address)
                == ["bounce-q1-0-q-goodtag1@bounces.example.com", "someone@local.test"])
    }

    @Test("the check applies to the relay port only")
    func submissionUnaffected() {
        var harness = Harness(.init(hostname: "mx.test", portKind: .submission),
                              context: .init(clientAddress: "10.0.0.1", clientPort: 40000, isTrustedNetwork: true, sessionID: "s1"),
                              recipientCheck: Self.check)
        harness.input("EHLO c\r\nMAIL FROM:<a@example.com>\r\n")
        let sent = harness.input("RCPT TO:<bounce-q1-0-q-forged11@bounces.example.com>\r\n")
        #expect(Harness.codes(sent) == [250])
    }
}
