import Testing
@testable import SMTPCore

@Suite("Stored message: Received, Message-ID, Date, byte-exact body")
struct MessageAssemblerTests {
    @Test("relay ESMTP message: exact Received header with single recipient, body unchanged, nothing added")
    func relayReceived() {
        var harness = Harness(relayConfig)
        let body = "Subject: x\r\n\r\nCaf\u{E9} 8-bit\r\n"
        harness.input("EHLO client.test\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\n" + body + ".\r\n")
        #expect(harness.message() == "Received: from client.test ([192.0.2.10])\r\n"
            + "\tby mx.test (Sendarix) with ESMTP\r\n"
            + "\tid Q1 for <b@local.test>; Sun, 29 Nov 2026 09:47:19 +0000\r\n" + body)
    }

    @Test("several recipients: no `for` clause; HELO gives `with SMTP`; IPv6 clients get an IPv6 literal")
    func variants() {
        var harness = Harness(relayConfig, context: .init(clientAddress: "2001:db8::7"))
        harness.input("HELO old.test\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nRCPT TO:<c@local.test>\r\nDATA\r\nx\r\n.\r\n")
        #expect(harness.message().hasPrefix("Received: from old.test ([IPv6:2001:db8::7])\r\n\tby mx.test (Sendarix) with SMTP\r\n"
            + "\tid Q1; Sun"))
    }

    @Test("submission adds Message-ID and Date when missing")
    func submissionAddsFields() {
        var harness = Harness.authenticated()
        harness.input("MAIL FROM:<alice@acme.test>\r\nRCPT TO:<x@far.test>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\n")
        let message = harness.message()
        #expect(message.contains("\r\nMessage-ID: <Q1@mx.test>\r\nDate: Sun, 29 Nov 2026 09:47:19 +0000\r\nSubject: s\r\n\r\nbody\r\n"))
    }

    @Test("submission keeps existing Message-ID and Date (any case, space before colon)")
    func submissionKeepsFields() {
        var harness = Harness.authenticated()
        let body = "message-ID: <own@x>\r\nDATE : Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nbody\r\n"
        harness.input("MAIL FROM:<alice@acme.test>\r\nRCPT TO:<x@far.test>\r\nDATA\r\n" + body + ".\r\n")
        #expect(!harness.message().contains("Q1@mx.test"))
        #expect(harness.message().hasSuffix("for <x@far.test>; Sun, 29 Nov 2026 09:47:19 +0000\r\n" + body))
    }

    @Test("a Date: in the body (after the blank line) does not count as a header")
    func headerSectionOnly() {
        let message = Array("Subject: s\r\n\r\nDate: not a header\r\n".utf8)
        #expect(!MessageAssembler.headerSection(of: message, contains: "date"))
        #expect(MessageAssembler.headerSection(of: message, contains: "subject"))
        #expect(!MessageAssembler.headerSection(of: Array("X-Date: y\r\n\r\n".utf8), contains: "date"))
        #expect(!MessageAssembler.headerSection(of: Array("Subject: s\r\n Date: folded\r\n\r\n".utf8), contains: "date"))
    }

    @Test("protocol names follow RFC 3848 and RFC 6531")
    func protocolNames() {
        #expect(MessageAssembler.protocolName(extended: false, tls: true, authenticated: true, smtpUTF8: false) == "SMTP")
        #expect(MessageAssembler.protocolName(extended: true, tls: false, authenticated: false, smtpUTF8: false) == "ESMTP")
        #expect(MessageAssembler.protocolName(extended: true, tls: true, authenticated: false, smtpUTF8: false) == "ESMTPS")
        #expect(MessageAssembler.protocolName(extended: true, tls: false, authenticated: true, smtpUTF8: false) == "ESMTPA")
        #expect(MessageAssembler.protocolName(extended: true, tls: true, authenticated: true, smtpUTF8: false) == "ESMTPSA")
        #expect(MessageAssembler.protocolName(extended: true, tls: true, authenticated: true, smtpUTF8: true) == "UTF8SMTPSA")
    }

    @Test("a hostile HELO name cannot break the Received header")
    func hostileHelo() {
        #expect(MessageAssembler.sanitize("evil)(\\x") == "evil???x")
    }
}
