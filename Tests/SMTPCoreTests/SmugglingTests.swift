import Testing
@testable import SMTPCore

@Suite("SMTP smuggling: bare CR/LF never end or split a message")
struct SmugglingTests {
    static let variants = ["\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r\n.\r", "\r.\r\n", "\n.\r", "\r.\n",
                           "\n.\r\r\n", "\r\r\n.\r\r\n", "\n\n.\n\n"]

    @Test("a smuggled second transaction after each end-of-data variant yields no message", arguments: variants)
    func smuggledTransaction(variant: String) {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\n")
        let attack = "Subject: hi\r\n\r\nhello" + variant
            + "MAIL FROM:<admin@local.test>\r\nRCPT TO:<victim@local.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n"
        let sent = harness.input(attack)
        #expect(harness.enqueued.isEmpty, "no message may be accepted")
        #expect(sent == "550 5.6.0 Message contains bare CR or LF characters; lines must end in CRLF\r\n")
        // The connection is still in sync: the next real transaction is accepted exactly once.
        harness.input("MAIL FROM:<a@remote.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\nok\r\n.\r\n")
        #expect(harness.enqueued.count == 1)
        #expect(harness.message().hasSuffix("\r\nok\r\n"))
    }

    @Test("a message whose only oddity is a NUL byte is accepted once, with the smuggled text as content")
    func nulIsData() {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\n")
        harness.input("hello\r\n\u{0}.\r\nMAIL FROM:<x@local.test>\r\n.\r\n")
        #expect(harness.enqueued.count == 1)
        #expect(harness.message().hasSuffix("hello\r\n\u{0}.\r\nMAIL FROM:<x@local.test>\r\n"))
    }

    @Test("each variant split across packets at every position still yields no message", arguments: ["\n.\r\n", "\r.\r\n", "\r\n.\r"])
    func splitVariants(variant: String) {
        let attack = Array(("x" + variant + "MAIL FROM:<e@local.test>\r\nRCPT TO:<v@local.test>\r\nDATA\r\nevil\r\n.\r\n").utf8)
        for cut in 1..<attack.count {
            var harness = Harness(relayConfig)
            harness.input("EHLO c\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\n")
            harness.input(Array(attack[..<cut]))
            harness.input(Array(attack[cut...]))
            #expect(harness.enqueued.isEmpty, "cut at \(cut)")
            #expect(Harness.codes(harness.transcript).last == 550, "cut at \(cut)")
        }
    }

    @Test("the rejection is logged against the transaction's queue ID")
    func rejectionLogged() {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\nx\n.\r\n\r\n.\r\n")
        #expect(harness.logs.contains(.messageRejected(
            queueID: "Q1", code: 550, enhancedCode: "5.6.0",
            reason: "Message contains bare CR or LF characters; lines must end in CRLF")))
    }
}
