import Testing
@testable import SMTPCore

let relayConfig = SMTPSession.Configuration(hostname: "mx.test", portKind: .relay, localDomains: ["local.test"])

@Suite("Session transcripts: greeting, EHLO, commands, sequencing")
struct SessionTranscriptTests {
    @Test("start sends the 220 greeting and logs the connection")
    func greeting() {
        let harness = Harness()
        #expect(harness.transcript == "220 mx.test ESMTP Sendarix\r\n")
        #expect(harness.logs.first == .connected(clientAddress: "192.0.2.10", clientPort: 40000, tls: nil))
    }

    @Test("EHLO before TLS advertises STARTTLS and no AUTH")
    func ehloPlaintext() {
        var harness = Harness()
        let sent = harness.input("EHLO client.test\r\n")
        #expect(sent == "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
            + "250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250 DSN\r\n")
        #expect(harness.logs.contains(.helo(name: "client.test", extended: true)))
    }

    @Test("EHLO over TLS advertises AUTH PLAIN LOGIN and no STARTTLS")
    func ehloTLS() {
        var harness = Harness.tls()
        let sent = harness.input("EHLO client.test\r\n")
        #expect(sent.contains("250-AUTH PLAIN LOGIN\r\n"))
        #expect(!sent.contains("STARTTLS"))
    }

    @Test("EHLO without STARTTLS configured does not offer it")
    func ehloNoTLS() {
        var harness = Harness(.init(hostname: "mx.test", tlsAvailable: false))
        #expect(!harness.input("EHLO c\r\n").contains("STARTTLS"))
    }

    @Test("HELO gets a one-line reply and MAIL parameters then get 555")
    func helo() {
        var harness = Harness(relayConfig)
        #expect(harness.input("HELO client.test\r\n") == "250 mx.test\r\n")
        #expect(harness.input("MAIL FROM:<a@b.test> SIZE=10\r\n") == "555 5.5.4 MAIL parameters require EHLO\r\n")
        #expect(harness.input("MAIL FROM:<a@b.test>\r\n") == "250 2.1.0 Sender OK\r\n")
        #expect(harness.input("EHLO\r\n") == "501 5.5.4 Syntax: EHLO hostname\r\n")
    }

    @Test("a complete relay transaction yields one enqueue with the full envelope, then 250 queued")
    func fullTransaction() throws {
        var harness = Harness(relayConfig)
        harness.input("EHLO client.test\r\n")
        #expect(harness.input("MAIL FROM:<sender@remote.test> SIZE=20 BODY=8BITMIME RET=HDRS ENVID=abc+2Bdef\r\n")
            == "250 2.1.0 Sender OK\r\n")
        #expect(harness.input("RCPT TO:<User+tag@LOCAL.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;user+2Btag@local.test\r\n")
            == "250 2.1.5 Recipient OK\r\n")
        #expect(harness.input("DATA\r\n") == "354 End data with <CR><LF>.<CR><LF>\r\n")
        #expect(harness.input("Subject: hi\r\n\r\nhello\r\n.\r\n") == "")
        let (envelope, _) = try #require(harness.enqueued.first)
        #expect(envelope.queueID == "Q1")
        #expect(envelope.mailFrom?.address == "sender@remote.test")
        #expect(envelope.recipients == [.init(address: try SMTPAddress.parse("User+tag@local.test"),
                                              notify: [.success, .delay],
                                              originalRecipient: .init(addressType: "rfc822", address: "user+tag@local.test"))])
        #expect(envelope.recipients[0].address.localPart == "User+tag")
        #expect(envelope.bodyType == .eightBitMIME)
        #expect(envelope.declaredSize == 20)
        #expect(envelope.dsnReturn == .headers)
        #expect(envelope.envelopeID == "abc+def")
        #expect(envelope.heloName == "client.test")
        #expect(envelope.clientAddress == "192.0.2.10")
        #expect(envelope.authenticatedUser == nil)
        #expect(envelope.receivedAt == fixedDate)
        #expect(envelope.portKind == .relay)
        #expect(harness.message().hasSuffix("Subject: hi\r\n\r\nhello\r\n"))
        #expect(harness.completeEnqueue(.queued("Q1")) == "250 2.0.0 OK: queued as Q1\r\n")
        #expect(harness.logs.contains(.queued(queueID: "Q1")))
        // A second transaction on the same connection gets a new queue ID.
        harness.input("MAIL FROM:<>\r\nRCPT TO:<x@local.test>\r\nDATA\r\nx\r\n.\r\n")
        #expect(harness.enqueued.count == 2)
        #expect(harness.enqueued[1].envelope.queueID == "Q2")
        #expect(harness.enqueued[1].envelope.mailFrom == nil)
    }

    @Test("sequencing errors get 503 5.5.1 and DATA without recipients 554")
    func sequencing() {
        var harness = Harness(relayConfig)
        #expect(harness.input("MAIL FROM:<a@b.test>\r\n") == "503 5.5.1 Error: send HELO/EHLO first\r\n")
        harness.input("EHLO c\r\n")
        #expect(harness.input("RCPT TO:<a@local.test>\r\n") == "503 5.5.1 Error: need MAIL command\r\n")
        #expect(harness.input("DATA\r\n") == "503 5.5.1 Error: need MAIL command\r\n")
        harness.input("MAIL FROM:<a@b.test>\r\n")
        #expect(harness.input("MAIL FROM:<a@b.test>\r\n") == "503 5.5.1 Error: nested MAIL command\r\n")
        #expect(harness.input("DATA\r\n") == "554 5.5.1 Error: no valid recipients\r\n")
        #expect(harness.input("DATA now\r\n") == "501 5.5.4 Syntax: DATA\r\n")
    }

    @Test("RSET ends the transaction; NOOP, VRFY, HELP, EXPN and unknown commands answer correctly")
    func miscCommands() {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\nMAIL FROM:<a@b.test>\r\n")
        #expect(harness.input("RSET\r\n") == "250 2.0.0 OK\r\n")
        #expect(harness.input("RCPT TO:<a@local.test>\r\n") == "503 5.5.1 Error: need MAIL command\r\n")
        #expect(harness.input("NOOP whatever\r\n") == "250 2.0.0 OK\r\n")
        #expect(harness.input("VRFY bob\r\n").hasPrefix("252 2.5.0 "))
        #expect(harness.input("HELP\r\n").hasPrefix("214 2.0.0 "))
        #expect(harness.input("EXPN list\r\n").hasPrefix("502 5.5.1 "))
        #expect(harness.input("FOO bar\r\n") == "500 5.5.2 Error: command not recognized\r\n")
        #expect(harness.input("\r\n") == "500 5.5.2 Error: command not recognized\r\n")
        #expect(harness.input("MAIL FROM:<a@b.test> \u{FF}\r\n").hasPrefix("5"))
    }

    @Test("QUIT replies 221 and closes; later input is ignored")
    func quit() {
        var harness = Harness()
        #expect(harness.input("QUIT\r\nNOOP\r\n") == "221 2.0.0 Bye\r\n")
        #expect(harness.closed)
        #expect(harness.lastActions.last == .close)
        #expect(harness.input("NOOP\r\n") == "")
    }

    @Test("MAIL parameter errors: SIZE too big 552, bad values 501, unknown 555, duplicates 501")
    func mailParameters() {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\n")
        #expect(harness.input("MAIL FROM:<a@b.test> SIZE=52428801\r\n")
            == "552 5.3.4 Message size exceeds fixed maximum message size\r\n")
        #expect(harness.input("MAIL FROM:<a@b.test> SIZE=abc\r\n") == "501 5.5.4 Invalid SIZE value\r\n")
        #expect(harness.input("MAIL FROM:<a@b.test> BODY=9BIT\r\n") == "501 5.5.4 Invalid BODY value\r\n")
        #expect(harness.input("MAIL FROM:<a@b.test> RET=ALL\r\n") == "501 5.5.4 Invalid RET value\r\n")
        #expect(harness.input("MAIL FROM:<a@b.test> XFOO=1\r\n") == "555 5.5.4 Unsupported MAIL parameter XFOO\r\n")
        #expect(harness.input("MAIL FROM:<a@b.test> SIZE=1 SIZE=2\r\n") == "501 5.5.4 Duplicate SIZE parameter\r\n")
        #expect(harness.input("MAIL FROM:<a@b.test> AUTH=<>\r\n") == "250 2.1.0 Sender OK\r\n")
        #expect(harness.input("RCPT TO:<a@local.test> NOTIFY=NEVER,SUCCESS\r\n") == "501 5.5.4 Invalid NOTIFY value\r\n")
        #expect(harness.input("RCPT TO:<a@local.test> ORCPT=nosemicolon\r\n") == "501 5.5.4 Invalid ORCPT value\r\n")
        #expect(harness.input("RCPT TO:<a@local.test> FOO\r\n") == "555 5.5.4 Unsupported RCPT parameter FOO\r\n")
        #expect(harness.input("RCPT TO:<a@local.test> NOTIFY=NEVER\r\n") == "250 2.1.5 Recipient OK\r\n")
    }

    @Test("bad addresses: 501 5.1.7 for senders, 501 5.1.3 for recipients, 553 5.6.7 for UTF-8 without SMTPUTF8")
    func badAddresses() {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\n")
        #expect(harness.input("MAIL FROM:<a@@b.test>\r\n") == "501 5.1.7 Bad sender address syntax\r\n")
        #expect(harness.input("MAIL FROM:<jürgen@b.test>\r\n") == "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n")
        #expect(harness.input("MAIL FROM <a@b.test>\r\n") == "501 5.5.4 Syntax: MAIL FROM:<address>\r\n")
        #expect(harness.input("MAIL FROM:<a@b.test>\r\n") == "250 2.1.0 Sender OK\r\n")
        #expect(harness.input("RCPT TO:<>\r\n") == "501 5.1.3 Bad recipient address syntax\r\n")
        #expect(harness.input("RCPT TO:<no-domain>\r\n") == "501 5.1.3 Bad recipient address syntax\r\n")
        #expect(harness.input("RCPT TO:<jürgen@local.test>\r\n") == "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n")
    }

    @Test("SMTPUTF8 on MAIL allows UTF-8 sender and recipients and is recorded")
    func smtputf8() throws {
        var harness = Harness(.init(hostname: "mx.test", portKind: .relay, localDomains: ["bücher.test"]))
        harness.input("EHLO c\r\n")
        #expect(harness.input("MAIL FROM:<jürgen@b.test> SMTPUTF8\r\n") == "250 2.1.0 Sender OK\r\n")
        #expect(harness.input("RCPT TO:<ärger@Bücher.test>\r\n") == "250 2.1.5 Recipient OK\r\n")
        harness.input("DATA\r\nx\r\n.\r\n")
        let envelope = try #require(harness.enqueued.first).envelope
        #expect(envelope.smtpUTF8)
        #expect(envelope.recipients[0].address.localPart == "ärger")
        #expect(harness.message().contains("with UTF8SMTP\r\n"))
    }

    @Test("a bare address without brackets and a space after the colon are tolerated")
    func lenientPaths() {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\n")
        #expect(harness.input("MAIL FROM: <a@b.test>\r\n") == "250 2.1.0 Sender OK\r\n")
        #expect(harness.input("RCPT TO:user@local.test\r\n") == "250 2.1.5 Recipient OK\r\n")
    }

    @Test("<postmaster> without a domain is always accepted (RFC 5321 4.5.1)")
    func postmaster() throws {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\nMAIL FROM:<a@b.test>\r\n")
        #expect(harness.input("RCPT TO:<Postmaster>\r\n") == "250 2.1.5 Recipient OK\r\n")
        harness.input("DATA\r\nx\r\n.\r\n")
        #expect(try #require(harness.enqueued.first).envelope.recipients[0].address.address == "Postmaster@mx.test")
    }
}
