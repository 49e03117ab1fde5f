import Testing
@testable import SMTPCore

@Suite("Limits: recipients, line lengths, message size, errors, commands, timeouts")
struct LimitsTests {
    @Test("recipients beyond maxRecipients get 452 4.5.3 without counting as errors")
    func recipients() {
        var harness = Harness(.init(hostname: "mx.test", portKind: .relay, maxRecipients: 2, maxErrors: 2,
                                    localDomains: ["local.test"]))
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\n")
        let sent = harness.input((1...5).map { "RCPT TO:<u\($0)@local.test>\r\n" }.joined())
        #expect(Harness.codes(sent) == [250, 250, 452, 452, 452])
        #expect(sent.hasSuffix("452 4.5.3 Too many recipients\r\n"))
        #expect(!harness.closed)
        harness.input("DATA\r\nx\r\n.\r\n")
        #expect(harness.enqueued.first?.envelope.recipients.count == 2)
    }

    @Test("a command line over 512 octets gets 500 5.5.2 and the session continues")
    func longCommand() {
        var harness = Harness(relayConfig)
        let line = "NOOP " + String(repeating: "x", count: 506) // 511 + CRLF = 513 octets
        #expect(harness.input(line + "\r\nNOOP\r\n") == "500 5.5.2 Error: line too long\r\n250 2.0.0 OK\r\n")
        let fits = "NOOP " + String(repeating: "x", count: 505)
        #expect(harness.input(fits + "\r\n") == "250 2.0.0 OK\r\n")
    }

    @Test("MAIL and RCPT lines get the RFC 3461/4954 length allowances for their parameters")
    func parameterAllowances() {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\n")
        let envid = String(repeating: "e", count: 100)
        let auth = String(repeating: "a", count: 480)
        #expect(harness.input("MAIL FROM:<\(String(repeating: "s", count: 60))@remote.test> SIZE=100 ENVID=\(envid) AUTH=\(auth)@x\r\n")
            == "250 2.1.0 Sender OK\r\n")
        let orcpt = "rfc822;" + String(repeating: "o", count: 400) + "@local.test"
        let rcpt = "RCPT TO:<\(String(repeating: "r", count: 64))@local.test> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=\(orcpt)\r\n"
        #expect(rcpt.utf8.count > 512)
        #expect(harness.input(rcpt) == "250 2.1.5 Recipient OK\r\n")
        #expect(harness.input("RCPT TO:<a@local.test> ORCPT=rfc822;\(String(repeating: "o", count: 1000))\r\n")
            == "500 5.5.2 Error: line too long\r\n")
    }

    @Test("an endless line is discarded as it arrives, not buffered, and answered once it ends")
    func endlessLine() {
        var harness = Harness(relayConfig)
        let chunk = String(repeating: "y", count: 5000)
        for _ in 0..<10 { #expect(harness.input(chunk) == "") }
        #expect(harness.session.inbox.count < 13_000)
        #expect(harness.input("tail\r\nNOOP\r\n") == "500 5.5.2 Error: line too long\r\n250 2.0.0 OK\r\n")
    }

    @Test("AUTH lines may be up to 12288 octets")
    func longAuthLine() {
        var harness = Harness.tls()
        harness.input("EHLO c\r\n")
        let bigResponse = SMTPBase64.encode(Array(("\u{0}alice\u{0}" + String(repeating: "p", count: 3000)).utf8))
        #expect(harness.input("AUTH PLAIN " + bigResponse + "\r\n") == "")
        #expect(harness.authRequests.first?.password.count == 3000)
    }

    @Test("a DATA line over 998 octets rejects the message with 550 5.6.0 after its end")
    func dataLineLength() {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\n")
        let sent = harness.input(String(repeating: "z", count: 999) + "\r\nmore\r\n.\r\nNOOP\r\n")
        #expect(sent == "550 5.6.0 Message contains a line longer than 998 octets\r\n250 2.0.0 OK\r\n")
        #expect(harness.enqueued.isEmpty)
    }

    @Test("a message over maxMessageSize without SIZE= is consumed to its end and rejected with 552 5.3.4")
    func dataSize() {
        var harness = Harness(.init(hostname: "mx.test", portKind: .relay, maxMessageSize: 100, localDomains: ["local.test"]))
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\n")
        for _ in 0..<10 { harness.input(String(repeating: "w", count: 50) + "\r\n") }
        #expect(harness.session.messageBody.isEmpty, "nothing is stored beyond the limit")
        #expect(harness.input(".\r\n") == "552 5.3.4 Message size exceeds fixed maximum message size\r\n")
        #expect(harness.enqueued.isEmpty)
        #expect(harness.input("RCPT TO:<b@local.test>\r\n") == "503 5.5.1 Error: need MAIL command\r\n")
    }

    @Test("after maxErrors failed commands the session says 421 4.7.0 and closes")
    func tooManyErrors() {
        var harness = Harness(.init(hostname: "mx.test", maxErrors: 3))
        let sent = harness.input("FOO\r\nBAR\r\nNOOP\r\nBAZ\r\nNOOP\r\n")
        #expect(Harness.codes(sent) == [500, 500, 250, 500, 421])
        #expect(sent.hasSuffix("421 4.7.0 mx.test Error: too many errors\r\n"))
        #expect(harness.closed)
        #expect(harness.input("NOOP\r\n") == "")
    }

    @Test("after maxCommands commands the session says 421 4.7.0 and closes")
    func tooManyCommands() {
        var harness = Harness(.init(hostname: "mx.test", maxCommands: 3))
        let sent = harness.input("NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n")
        #expect(Harness.codes(sent) == [250, 250, 250, 250, 421])
        #expect(harness.closed)
    }

    @Test("timeouts: 421 4.4.2 and close; shutdown: 421 4.3.2 and close; timeout depends on the state")
    func timeouts() {
        var harness = Harness(relayConfig)
        #expect(harness.session.timeout == 300)
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\n")
        #expect(harness.session.timeout == 180)
        #expect(harness.record(harness.session.timedOut()) == "421 4.4.2 mx.test Error: timeout exceeded\r\n")
        #expect(harness.closed)
        #expect(harness.session.timedOut().isEmpty)
        var other = Harness()
        #expect(other.record(other.session.shutdown()) == "421 4.3.2 Service shutting down\r\n")
        #expect(other.lastActions.last == .close)
        #expect(other.logs.contains(.disconnected(reason: "shutdown")))
    }

    @Test("custom timeouts are honoured")
    func customTimeouts() {
        let harness = Harness(.init(hostname: "mx.test", timeouts: .init(command: 42)))
        #expect(harness.session.timeout == 42)
    }

    @Test("input piling up while an enqueue is pending is bounded even for a shell that ignores wantsInput: beyond the cap and its slack 421 4.7.0 and close")
    func pipelinedInputBound() {
        var harness = Harness(.init(hostname: "mx.test", portKind: .relay, localDomains: ["local.test"], maxPendingInput: 1000))
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\nx\r\n.\r\n")
        #expect(harness.input(String(repeating: "N", count: 1000 + SMTPSession.pendingInputSlack)) == "")
        #expect(!harness.closed)
        #expect(harness.input("N") == "421 4.7.0 mx.test Error: too much pipelined input\r\n")
        #expect(harness.closed)
        #expect(harness.session.enqueueCompleted(.queued("Q1")).isEmpty)
    }

    @Test("a rejected message that reaches the error limit closes the session, even mid-packet")
    func errorLimitAtEndOfData() {
        var harness = Harness(.init(hostname: "mx.test", portKind: .relay, maxErrors: 1, localDomains: ["local.test"]))
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\n")
        let sent = harness.input("bad\nline\r\n.\r\nNOOP\r\n")
        #expect(Harness.codes(sent) == [550, 421])
        #expect(harness.closed)
    }
}
