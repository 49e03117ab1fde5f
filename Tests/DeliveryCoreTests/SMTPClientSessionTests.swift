import Testing
import DeliveryCore

@Suite("SMTP client session")
struct SMTPClientSessionTests {
    let standard = ["PIPELINING", "SIZE 10485760", "8BITMIME", "ENHANCEDSTATUSCODES"]

    func transaction(_ recipients: [String], body: String = "Subject: hi\r\n\r\nHello\r\n", tag: UInt64 = 1) -> Session.Transaction {
        Session.Transaction(tag: tag, mailFrom: "sender@relay.test", recipients: recipients.map { Session.Recipient($0) }, message: message(body))
    }

    @Test("greeting then EHLO: the session sends EHLO with our name and becomes ready with parsed capabilities")
    func greetingAndEhlo() {
        var session = Session(configuration: .init(heloName: "relay.test", tlsPolicy: .none))
        let greeting = session.server("220 mx.example.test ESMTP\r\n")
        #expect(sentText(greeting) == "EHLO relay.test\r\n")
        let ready = session.server(ehloReply(standard + ["AUTH=LOGIN PLAIN", "DSN", "SMTPUTF8", "CHUNKING"]))
        #expect(isReady(ready))
        #expect(session.capabilities.pipelining && session.capabilities.eightBitMIME && session.capabilities.dsn)
        #expect(session.capabilities.size == 10_485_760)
        #expect(session.capabilities.authMechanisms == ["LOGIN", "PLAIN"])
        #expect(session.capabilities.chunking && session.capabilities.smtpUTF8 && !session.capabilities.startTLS)
        #expect(session.isIdle)
    }

    @Test("pipelined transaction: one write for MAIL, RCPTs and DATA; one RCPT fails while the others are delivered")
    func pipelinedPerRecipient() {
        var (session, _) = connectedSession(standard)
        let start = session.submit(transaction(["a@example.com", "b@example.com", "c@example.com"]))
        #expect(writeCount(start) == 1)
        #expect(sentText(start) == "MAIL FROM:<sender@relay.test> SIZE=22\r\nRCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n")
        let body = session.server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <b@example.com>: Recipient address rejected: User unknown\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n")
        #expect(writeCount(body) == 1, "body and terminating dot in one write")
        #expect(sentText(body) == "Subject: hi\r\n\r\nHello\r\n.\r\n")
        let done = session.server("250 2.0.0 Ok: queued as 12345\r\n")
        let result = try! #require(finishedResults(done).first)
        #expect(result.tag == 1 && result.bodyTransmitted && !result.convertedTo7Bit)
        #expect(result.recipients.map(\.status) == [.delivered, .failed, .delivered])
        #expect(result.recipients[1].reply.enhancedCode == EnhancedStatusCode(5, 1, 1))
        #expect(result.recipients[0].reply.text == "Ok: queued as 12345")
        #expect(isReady(done))
    }

    @Test("without PIPELINING commands go one at a time and DATA is skipped when every RCPT fails; the next transaction starts with RSET")
    func lockstep() {
        var (session, _) = connectedSession(["SIZE 1000"])
        var actions = session.submit(transaction(["a@example.com", "b@example.com"]))
        #expect(sentText(actions) == "MAIL FROM:<sender@relay.test> SIZE=22\r\n")
        actions = session.server("250 ok\r\n")
        #expect(sentText(actions) == "RCPT TO:<a@example.com>\r\n")
        actions = session.server("450 4.2.0 Greylisted, see http://postgrey.schweikert.ch/help/example.com.html\r\n")
        #expect(sentText(actions) == "RCPT TO:<b@example.com>\r\n")
        actions = session.server("550 5.1.1 no such user\r\n")
        #expect(sentText(actions) == "")
        let result = try! #require(finishedResults(actions).first)
        #expect(result.recipients.map(\.status) == [.deferred, .failed])
        #expect(!result.bodyTransmitted)
        actions = session.submit(transaction(["c@example.com"], tag: 2))
        #expect(sentText(actions) == "RSET\r\n")
        actions = session.server("250 2.0.0 Ok\r\n")
        #expect(sentText(actions) == "MAIL FROM:<sender@relay.test> SIZE=22\r\n")
        actions = session.server("250 ok\r\n")
        #expect(sentText(actions) == "RCPT TO:<c@example.com>\r\n")
        actions = session.server("250 ok\r\n")
        #expect(sentText(actions) == "DATA\r\n")
        actions = session.server("354 go ahead\r\n")
        #expect(sentText(actions).hasSuffix("\r\n.\r\n"))
        actions = session.server("250 queued\r\n")
        #expect(finishedResults(actions).first?.recipients.map(\.status) == [.delivered])
    }

    @Test("after a completed transaction the next MAIL needs no RSET unless configured to always reset")
    func resetPolicy() {
        for always in [false, true] {
            var configuration = Session.Configuration(heloName: "relay.test", tlsPolicy: .none)
            configuration.resetBetweenTransactions = always
            var (session, _) = connectedSession(standard, configuration: configuration)
            let first = session.submit(transaction(["a@example.com"]))
            #expect(sentText(first).hasPrefix("MAIL FROM:"), "never RSET before the first transaction")
            _ = session.server("250 ok\r\n250 ok\r\n354 go\r\n")
            _ = session.server("250 queued\r\n")
            let second = session.submit(transaction(["b@example.com"], tag: 2))
            #expect(sentText(second).hasPrefix(always ? "RSET\r\nMAIL FROM:" : "MAIL FROM:"))
            #expect(writeCount(second) == 1, "RSET is pipelined with the envelope")
        }
    }

    @Test("a rejected MAIL FROM fails every recipient with the MAIL reply even though RCPT replies were 503")
    func mailRejectedPipelined() {
        var (session, _) = connectedSession(standard)
        _ = session.submit(transaction(["a@example.com", "b@example.com"]))
        let actions = session.server("550 5.7.1 <sender@relay.test>: Sender address rejected: Access denied\r\n503 5.5.1 Error: need MAIL command\r\n503 5.5.1 Error: need MAIL command\r\n503 5.5.1 Error: need MAIL command\r\n")
        let result = try! #require(finishedResults(actions).first)
        #expect(result.recipients.allSatisfy { $0.reply.code == 550 && $0.status == .failed })
        let next = session.submit(transaction(["c@example.com"], tag: 2))
        #expect(sentText(next).hasPrefix("RSET\r\nMAIL FROM:"))
    }

    @Test("when DATA is accepted although no recipient was, only the terminating dot is sent (RFC 2920)")
    func dataAcceptedWithoutRecipients() {
        var (session, _) = connectedSession(standard)
        _ = session.submit(transaction(["a@example.com"]))
        var actions = session.server("250 ok\r\n550 5.1.1 unknown\r\n354 go\r\n")
        #expect(sentText(actions) == ".\r\n")
        actions = session.server("554 5.5.1 Error: no valid recipients\r\n")
        #expect(finishedResults(actions).first?.recipients.first?.reply.code == 550)
    }

    @Test("dot-stuffing doubles leading dots and bare LF line ends become CRLF in the DATA payload")
    func dotStuffingInSession() {
        var (session, _) = connectedSession(standard)
        _ = session.submit(transaction(["a@example.com"], body: "Subject: x\n\n.hidden\n..two\nend"))
        let actions = session.server("250 ok\r\n250 ok\r\n354 go\r\n")
        #expect(sentText(actions) == "Subject: x\r\n\r\n..hidden\r\n...two\r\nend\r\n.\r\n")
    }

    @Test("EHLO rejected: the session falls back to HELO and works without extensions")
    func heloFallback() {
        var session = Session(configuration: .init(heloName: "relay.test", tlsPolicy: .opportunistic))
        _ = session.server("220 old.example ready\r\n")
        let helo = session.server("502 5.5.2 Error: command not recognized\r\n")
        #expect(sentText(helo) == "HELO relay.test\r\n")
        let ready = session.server("250 old.example\r\n")
        #expect(isReady(ready))
        let start = session.submit(transaction(["a@example.com"]))
        #expect(sentText(start) == "MAIL FROM:<sender@relay.test>\r\n")
    }

    @Test("a 554 greeting fails the session and queued work, sends QUIT and closes")
    func greetingRejected() {
        var session = Session(configuration: .init(heloName: "relay.test"))
        _ = session.submit(transaction(["a@example.com"]))
        let actions = session.server("554 5.7.1 mx.example.test ESMTP not accepting messages from 192.0.2.1\r\n")
        #expect(sentText(actions) == "QUIT\r\n")
        #expect(failure(actions)?.stage == .greeting)
        #expect(finishedResults(actions).first?.recipients.first?.reply.code == 554)
        #expect(actions.last == .close)
        #expect(session.isClosed)
        let late = session.submit(transaction(["b@example.com"], tag: 9))
        #expect(finishedResults(late).first?.recipients.first?.reply.code == 451)
    }

    @Test("replies split across reads at every byte boundary are reassembled")
    func byteByByte() {
        var session = Session(configuration: .init(heloName: "relay.test", tlsPolicy: .none))
        var all: [Session.Action] = []
        for byte in "220-mx.example.test ESMTP\r\n220 welcome\r\n".utf8 { all += session.receive([byte]) }
        #expect(sentText(all) == "EHLO relay.test\r\n")
        all = []
        for byte in ehloReply(standard).utf8 { all += session.receive([byte]) }
        #expect(isReady(all))
        #expect(session.capabilities.pipelining)
    }

    @Test("a garbage reply line fails the session with a local protocol error")
    func malformedReply() {
        var (session, _) = connectedSession(standard)
        _ = session.submit(transaction(["a@example.com"]))
        let actions = session.server("HTTP/1.1 400 Bad Request\r\n")
        #expect(failure(actions)?.isLocal == true)
        #expect(finishedResults(actions).first?.recipients.first?.status == .deferred)
    }
}
