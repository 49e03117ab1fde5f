import Testing
import DeliveryCore

@Suite("SMTP client session: TLS, AUTH and extensions")
struct SMTPClientSessionExtensionTests {
    func transaction(_ recipients: [String], body: String = "Subject: hi\r\n\r\nHello\r\n", from: String = "sender@relay.test") -> Session.Transaction {
        Session.Transaction(tag: 7, mailFrom: from, recipients: recipients.map { Session.Recipient($0) }, message: message(body))
    }

    @Test("opportunistic STARTTLS: bytes pipelined after the 220 are discarded and EHLO is repeated over TLS")
    func startTLSDiscardsInjectedBytes() {
        var session = Session(configuration: .init(heloName: "relay.test", tlsPolicy: .opportunistic))
        _ = session.server("220 mx ESMTP\r\n")
        let starttls = session.server(ehloReply(["PIPELINING", "STARTTLS", "8BITMIME"]))
        #expect(sentText(starttls) == "STARTTLS\r\n")
        #expect(!isReady(starttls))
        let handshake = session.server("220 2.0.0 Ready to start TLS\r\n250 injected reply\r\n")
        #expect(handshake == [.startTLS(verifyCertificate: false)])
        #expect(session.capabilities.startTLS, "capabilities are dropped only once TLS is up")
        let ehlo = session.tlsEstablished()
        #expect(sentText(ehlo) == "EHLO relay.test\r\n")
        #expect(session.isTLSActive)
        #expect(session.capabilities == Session.Capabilities())
        let ready = session.server(ehloReply(["PIPELINING", "8BITMIME"]))
        #expect(isReady(ready))
        #expect(!session.capabilities.startTLS)
    }

    @Test("opportunistic: a refused STARTTLS continues in plaintext")
    func startTLSRefusedOpportunistic() {
        var session = Session(configuration: .init(heloName: "relay.test", tlsPolicy: .opportunistic))
        _ = session.server("220 mx ESMTP\r\n")
        _ = session.server(ehloReply(["STARTTLS"]))
        let ready = session.server("454 4.7.0 TLS not available due to local problem\r\n")
        #expect(isReady(ready))
        #expect(!session.isTLSActive)
    }

    @Test("required TLS not offered: local 421 4.7.4, QUIT, close, and queued work deferred")
    func requiredTLSMissing() {
        var session = Session(configuration: .init(heloName: "relay.test", tlsPolicy: .required))
        _ = session.submit(transaction(["a@example.com"]))
        _ = session.server("220 mx ESMTP\r\n")
        let actions = session.server(ehloReply(["PIPELINING"]))
        let failed = try! #require(failure(actions))
        #expect(failed.reply.code == 421 && failed.reply.enhancedCode == EnhancedStatusCode(4, 7, 4) && failed.isLocal)
        #expect(BounceClassifier().classify(failed.reply).bounceClass == .tlsFailure)
        #expect(sentText(actions) == "QUIT\r\n")
        #expect(finishedResults(actions).first?.recipients.first?.status == .deferred)
        #expect(actions.last == .close)
    }

    @Test("verify policy asks the shell to verify; a failed verification fails without plaintext fallback")
    func verifyPolicy() {
        var session = Session(configuration: .init(heloName: "relay.test", tlsPolicy: .verify))
        _ = session.server("220 mx ESMTP\r\n")
        _ = session.server(ehloReply(["STARTTLS"]))
        let handshake = session.server("220 go ahead\r\n")
        #expect(handshake == [.startTLS(verifyCertificate: true)])
        let actions = session.tlsFailed(verification: true)
        let failed = try! #require(failure(actions))
        #expect(!failed.retryWithoutTLS && failed.stage == .startTLS)
        #expect(actions.last == .close)
    }

    @Test("an opportunistic handshake failure tells the shell to retry without TLS")
    func opportunisticHandshakeFailure() {
        var session = Session(configuration: .init(heloName: "relay.test", tlsPolicy: .opportunistic))
        _ = session.server("220 mx ESMTP\r\n")
        _ = session.server(ehloReply(["STARTTLS"]))
        _ = session.server("220 go ahead\r\n")
        #expect(failure(session.tlsFailed())?.retryWithoutTLS == true)
    }

    @Test("AUTH PLAIN after TLS sends the base64 initial response and becomes ready on 235")
    func authPlain() {
        let configuration = Session.Configuration(heloName: "relay.test", tlsPolicy: .none, implicitTLS: true,
                                                  credentials: .init(username: "alice", password: "secret"))
        let (session0, actions) = connectedSession(["AUTH PLAIN LOGIN"], configuration: configuration)
        var session = session0
        #expect(sentText(actions) == "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")
        let ready = session.server("235 2.7.0 Authentication successful\r\n")
        #expect(isReady(ready) && session.isAuthenticated)
    }

    @Test("AUTH LOGIN exchanges user name and password in base64 steps")
    func authLogin() {
        let configuration = Session.Configuration(heloName: "relay.test", tlsPolicy: .none, implicitTLS: true,
                                                  credentials: .init(username: "alice", password: "secret"))
        var (session, actions) = connectedSession(["AUTH LOGIN"], configuration: configuration)
        #expect(sentText(actions) == "AUTH LOGIN\r\n")
        actions = session.server("334 VXNlcm5hbWU6\r\n")
        #expect(sentText(actions) == "YWxpY2U=\r\n")
        actions = session.server("334 UGFzc3dvcmQ6\r\n")
        #expect(sentText(actions) == "c2VjcmV0\r\n")
        actions = session.server("235 2.7.0 Authentication successful\r\n")
        #expect(isReady(actions))
    }

    @Test("rejected credentials fail the session with the server's 535 and classify as auth-failure")
    func authRejected() {
        let configuration = Session.Configuration(heloName: "relay.test", tlsPolicy: .none, implicitTLS: true,
                                                  credentials: .init(username: "alice", password: "wrong"))
        var (session, _) = connectedSession(["AUTH PLAIN"], configuration: configuration)
        let actions = session.server("535 5.7.8 Error: authentication failed: authentication failure\r\n")
        let failed = try! #require(failure(actions))
        #expect(failed.reply.code == 535 && failed.stage == .auth && !failed.isLocal)
        #expect(BounceClassifier().classify(failed.reply).bounceClass == .authFailure)
        #expect(sentText(actions) == "QUIT\r\n")
    }

    @Test("credentials are never sent over plaintext unless explicitly allowed")
    func noPlaintextAuth() {
        let configuration = Session.Configuration(heloName: "relay.test", tlsPolicy: .none,
                                                  credentials: .init(username: "alice", password: "secret"))
        let (_, actions) = connectedSession(["AUTH PLAIN"], configuration: configuration)
        #expect(!sentText(actions).contains("AUTH"))
        #expect(failure(actions)?.reply.enhancedCode == EnhancedStatusCode(4, 7, 11))
        var allowed = configuration
        allowed.allowPlaintextAuth = true
        let (_, plain) = connectedSession(["AUTH PLAIN"], configuration: allowed)
        #expect(sentText(plain).hasPrefix("AUTH PLAIN "))
    }

    @Test("a message larger than the advertised SIZE is refused locally with 552 5.3.4 and nothing is sent")
    func sizeRefusal() {
        var (session, _) = connectedSession(["PIPELINING", "SIZE 30"])
        let actions = session.submit(transaction(["a@example.com"], body: "Subject: big\r\n\r\n" + String(repeating: "x", count: 100) + "\r\n"))
        #expect(sentText(actions) == "")
        let result = try! #require(finishedResults(actions).first)
        #expect(result.recipients[0].isLocal && result.recipients[0].reply.code == 552)
        #expect(BounceClassifier().classify(result.recipients[0].reply).bounceClass == .messageTooLarge)
        #expect(isReady(actions), "the session stays usable")
    }

    @Test("SMTPUTF8 needed but not offered gives 553 5.6.7; when offered the MAIL command carries SMTPUTF8")
    func smtpUTF8() {
        var (plain, _) = connectedSession(["PIPELINING", "8BITMIME"])
        let refused = plain.submit(transaction(["jöran@example.com"]))
        let reply = try! #require(finishedResults(refused).first?.recipients.first?.reply)
        #expect(reply.code == 553 && reply.enhancedCode == EnhancedStatusCode(5, 6, 7))
        var (utf8, _) = connectedSession(["PIPELINING", "8BITMIME", "SMTPUTF8"])
        let sent = sentText(utf8.submit(transaction(["jöran@example.com"])))
        #expect(sent.hasPrefix("MAIL FROM:<sender@relay.test> SMTPUTF8\r\nRCPT TO:<jöran@example.com>\r\n"))
    }

    @Test("8-bit content to a server without 8BITMIME is converted to quoted-printable")
    func eightBitConverted() {
        var (session, _) = connectedSession(["PIPELINING"])
        let body = "Subject: cafes\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nCaf\u{E9}\r\n"
        var start = session.submit(transaction(["a@example.com"], body: body))
        #expect(sentText(start).hasPrefix("MAIL FROM:<sender@relay.test>\r\n"))
        start = session.server("250 ok\r\n250 ok\r\n354 go\r\n")
        let sent = sentText(start)
        #expect(sent.contains("Content-Transfer-Encoding: quoted-printable\r\n"))
        #expect(sent.contains("Caf=C3=A9\r\n"))
        #expect(!sent.utf8.contains { $0 >= 0x80 })
        let done = session.server("250 ok\r\n")
        #expect(finishedResults(done).first?.convertedTo7Bit == true)
    }

    @Test("8-bit content with conversion disabled, or 8-bit headers, fails with 554 5.6.3")
    func eightBitRefused() {
        var configuration = Session.Configuration(heloName: "relay.test", tlsPolicy: .none)
        configuration.convertEightBit = false
        var (session, _) = connectedSession(["PIPELINING"], configuration: configuration)
        let refused = session.submit(transaction(["a@example.com"], body: "Subject: x\r\n\r\nCaf\u{E9}\r\n"))
        #expect(finishedResults(refused).first?.recipients.first?.reply.enhancedCode == EnhancedStatusCode(5, 6, 3))
        var (converting, _) = connectedSession(["PIPELINING"])
        let headers = converting.submit(transaction(["a@example.com"], body: "Subject: caf\u{E9}\r\n\r\nCaf\u{E9}\r\n"))
        #expect(finishedResults(headers).first?.recipients.first?.reply.enhancedCode == EnhancedStatusCode(5, 6, 3))
    }

    @Test("8-bit content to an 8BITMIME server is sent as is with BODY=8BITMIME")
    func eightBitNative() {
        var (session, _) = connectedSession(["PIPELINING", "8BITMIME"])
        let sent = sentText(session.submit(transaction(["a@example.com"], body: "Subject: x\r\n\r\nCaf\u{E9}\r\n")))
        #expect(sent.hasPrefix("MAIL FROM:<sender@relay.test> BODY=8BITMIME\r\n"))
    }

    @Test("CHUNKING with PIPELINING: BDAT LAST carries the raw body (no dot-stuffing) after the RCPT replies")
    func bdatPipelined() {
        var (session, _) = connectedSession(["PIPELINING", "CHUNKING"])
        var actions = session.submit(transaction(["a@example.com"], body: "Subject: x\r\n\r\n.dot\r\n"))
        #expect(sentText(actions) == "MAIL FROM:<sender@relay.test>\r\nRCPT TO:<a@example.com>\r\n")
        actions = session.server("250 ok\r\n250 ok\r\n")
        #expect(sentText(actions) == "BDAT 20 LAST\r\nSubject: x\r\n\r\n.dot\r\n")
        actions = session.server("250 2.0.0 queued\r\n")
        #expect(finishedResults(actions).first?.recipients.first?.status == .delivered)
    }

    @Test("CHUNKING without PIPELINING sends chunks one at a time and stops at a failed chunk")
    func bdatLockstep() {
        var configuration = Session.Configuration(heloName: "relay.test", tlsPolicy: .none)
        configuration.chunkSize = 8
        var (session, _) = connectedSession(["CHUNKING"], configuration: configuration)
        _ = session.submit(transaction(["a@example.com"], body: "0123456789abcdef0123"))
        _ = session.server("250 ok\r\n")
        var actions = session.server("250 ok\r\n")
        #expect(sentText(actions) == "BDAT 8\r\n01234567")
        actions = session.server("250 2.0.0 8 octets received\r\n")
        #expect(sentText(actions) == "BDAT 8\r\n89abcdef")
        actions = session.server("452 4.3.1 Insufficient system storage\r\n")
        #expect(sentText(actions) == "")
        let result = try! #require(finishedResults(actions).first)
        #expect(result.recipients[0].reply.code == 452 && result.bodyTransmitted)
        let next = session.submit(transaction(["b@example.com"]))
        #expect(sentText(next) == "RSET\r\n")
    }

    @Test("DSN parameters are passed on only to servers that offer DSN, with xtext encoding")
    func dsnParameters() {
        var envelope = Session.Transaction(tag: 1, mailFrom: "s@relay.test",
                                           recipients: [Session.Recipient("a@example.com", notify: [.failure, .delay], originalRecipient: "A+1@example.com")],
                                           message: message("x\r\n"), dsnReturn: .headers, envelopeID: "id=42")
        var (dsn, _) = connectedSession(["PIPELINING", "DSN"])
        #expect(sentText(dsn.submit(envelope)) == "MAIL FROM:<s@relay.test> RET=HDRS ENVID=id+3D42\r\nRCPT TO:<a@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;A+2B1@example.com\r\nDATA\r\n")
        envelope.tag = 2
        var (plain, _) = connectedSession(["PIPELINING"])
        #expect(sentText(plain.submit(envelope)) == "MAIL FROM:<s@relay.test>\r\nRCPT TO:<a@example.com>\r\nDATA\r\n")
    }

    @Test("addresses carrying CR/LF or angle brackets are refused locally and never reach the wire")
    func injectionRefused() {
        var (session, _) = connectedSession(["PIPELINING"])
        let actions = session.submit(transaction(["ok@example.com", "evil@example.com>\r\nRCPT TO:<x@y"]))
        let sent = sentText(actions)
        #expect(!sent.contains("evil") && sent.contains("RCPT TO:<ok@example.com>"))
        var (fresh, _) = connectedSession(["PIPELINING"])
        let badSender = fresh.submit(transaction(["a@example.com"], from: "a>\r\nDATA"))
        #expect(finishedResults(badSender).first?.recipients.first?.reply.code == 553)
    }

    @Test("a 421 in the middle of a transaction defers the undecided recipients and closes without QUIT")
    func serverShutdown() {
        var (session, _) = connectedSession(["PIPELINING"])
        _ = session.submit(transaction(["a@example.com", "b@example.com"]))
        let actions = session.server("250 ok\r\n550 5.1.1 unknown\r\n421 4.3.2 Service shutting down\r\n")
        let result = try! #require(finishedResults(actions).first)
        #expect(result.recipients[0].reply.code == 550)
        #expect(result.recipients[1].reply.code == 421 && result.recipients[1].status == .deferred)
        #expect(sentText(actions) == "")
        #expect(actions.last == .close)
    }

    @Test("a connection lost after the body was sent reports deferral and the duplicate risk")
    func lostAfterBody() {
        var (session, _) = connectedSession(["PIPELINING"])
        _ = session.submit(transaction(["a@example.com"]))
        _ = session.server("250 ok\r\n250 ok\r\n354 go\r\n")
        let actions = session.connectionClosed()
        let result = try! #require(finishedResults(actions).first)
        #expect(result.bodyTransmitted)
        #expect(result.recipients[0].isLocal && result.recipients[0].reply.code == 451)
        #expect(failure(actions)?.stage == .body)
        #expect(session.connectionClosed().isEmpty)
    }

    @Test("a reply timeout fails the session and closes; the awaited stage's timeout is exposed")
    func timeout() {
        var (session, _) = connectedSession(["PIPELINING"])
        #expect(session.replyTimeout == nil)
        _ = session.submit(transaction(["a@example.com"]))
        #expect(session.replyTimeout == 300)
        _ = session.server("250 ok\r\n250 ok\r\n")
        #expect(session.replyTimeout == 120, "waiting for the DATA reply")
        let actions = session.timedOut()
        #expect(failure(actions)?.reply.text.contains("timed out") == true)
        #expect(actions.last == .close)
    }

    @Test("QUIT after queued work: sent once the queue drains, then the session closes on 221")
    func quitAfterWork() {
        var (session, _) = connectedSession(["PIPELINING"])
        _ = session.submit(transaction(["a@example.com"]))
        #expect(session.quit().isEmpty)
        _ = session.server("250 ok\r\n250 ok\r\n354 go\r\n")
        let done = session.server("250 ok\r\n")
        #expect(sentText(done) == "QUIT\r\n")
        #expect(!isReady(done))
        #expect(session.server("221 2.0.0 Bye\r\n") == [.close])
        #expect(session.isClosed)
        #expect(session.connectionClosed().isEmpty)
    }
}
