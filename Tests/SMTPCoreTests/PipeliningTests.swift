import Testing
@testable import SMTPCore

@Suite("PIPELINING (RFC 2920): ordering, batching, buffering while waiting")
struct PipeliningTests {
    static let batch = "EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<b@local.test>\r\nRCPT TO:<bad>\r\n"
        + "DATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n"

    @Test("a whole session in one packet: replies in order in one send, enqueue last, QUIT waits for the enqueue")
    func onePacket() {
        var harness = Harness(relayConfig)
        let sent = harness.input(Self.batch)
        #expect(Harness.codes(sent) == [250, 250, 250, 501, 354])
        #expect(harness.enqueued.count == 1)
        guard case .enqueue? = harness.lastActions.last else {
            Issue.record("enqueue must be the last action")
            return
        }
        #expect(!harness.closed)
        let after = harness.completeEnqueue(.queued("Q1"))
        #expect(after == "250 2.0.0 OK: queued as Q1\r\n221 2.0.0 Bye\r\n")
        #expect(harness.closed)
    }

    @Test("feeding the same session byte by byte gives the same transcript and message")
    func byteByByte() {
        var whole = Harness(relayConfig)
        whole.input(Self.batch)
        whole.completeEnqueue(.queued("Q1"))
        var split = Harness(relayConfig)
        for byte in Array(Self.batch.utf8) {
            split.input([byte])
            if split.enqueued.count == 1 && split.lastActions.contains(where: { if case .enqueue = $0 { true } else { false } }) {
                split.completeEnqueue(.queued("Q1"))
            }
        }
        #expect(split.transcript == whole.transcript)
        #expect(split.enqueued.map(\.message) == whole.enqueued.map(\.message))
    }

    @Test("input arriving while an enqueue is pending is processed after it, one enqueue at a time")
    func bufferedDuringEnqueue() {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\none\r\n.\r\n")
        #expect(harness.enqueued.count == 1)
        #expect(harness.input("MAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\ntwo\r\n.\r\n") == "")
        #expect(harness.session.timeout == 600)
        let sent = harness.completeEnqueue(.queued("Q1"))
        #expect(Harness.codes(sent) == [250, 250, 250, 354])
        #expect(harness.enqueued.count == 2)
        #expect(harness.message(1).hasSuffix("\r\ntwo\r\n"))
        #expect(harness.completeEnqueue(.queued("Q2")) == "250 2.0.0 OK: queued as Q2\r\n")
    }

    @Test("input arriving while authentication is pending is held until the verdict")
    func bufferedDuringAuth() {
        var harness = Harness.tls()
        let first = harness.input("EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<alice@acme.test>\r\n")
        #expect(Harness.codes(first) == [250])
        #expect(harness.input("RCPT TO:<x@far.test>\r\n") == "")
        let sent = harness.completeAuth(.success(user: "alice", tenant: "acme"))
        #expect(sent == "235 2.7.0 Authentication successful\r\n250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n")
    }

    @Test("enqueue outcomes map to 250, 452 4.3.1, 451 4.3.0 and are logged")
    func enqueueOutcomes() {
        let cases: [(SMTPSession.EnqueueResult, String)] = [
            (.queued("ABC"), "250 2.0.0 OK: queued as ABC\r\n"),
            (.storageFull, "452 4.3.1 Insufficient system storage\r\n"),
            (.failed(reason: "disk on fire"), "451 4.3.0 Local error in processing, try again later\r\n"),
            (.unavailable, "451 4.3.0 Service temporarily unavailable, try again later\r\n"),
        ]
        for (result, expected) in cases {
            var harness = Harness(relayConfig)
            harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\nx\r\n.\r\n")
            #expect(harness.completeEnqueue(result) == expected)
            // The transaction is over either way.
            #expect(harness.input("RCPT TO:<b@local.test>\r\n") == "503 5.5.1 Error: need MAIL command\r\n")
        }
        var failed = Harness(relayConfig)
        failed.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\nx\r\n.\r\n")
        failed.completeEnqueue(.failed(reason: "disk on fire"))
        #expect(failed.logs.contains(.enqueueFailed(queueID: "Q1", reason: "disk on fire")))
    }

    @Test("completion calls that do not match the state are ignored")
    func spuriousCompletions() {
        var harness = Harness(relayConfig)
        #expect(harness.session.enqueueCompleted(.queued("X")).isEmpty)
        #expect(harness.session.authenticationCompleted(.failure).isEmpty)
        #expect(harness.session.tlsEstablished(.init(version: "v", cipher: "c")).isEmpty)
        #expect(harness.input("NOOP\r\n") == "250 2.0.0 OK\r\n")
    }

    @Test("every reply sent is logged with code, enhanced code and text")
    func replyLogs() {
        var harness = Harness(relayConfig)
        harness.input("NOOP\r\nFOO\r\n")
        #expect(harness.logs.contains(.reply(code: 250, enhancedCode: "2.0.0", text: "OK")))
        #expect(harness.logs.contains(.reply(code: 500, enhancedCode: "5.5.2", text: "Error: command not recognized")))
        #expect(harness.logs.contains(.reply(code: 220, enhancedCode: nil, text: "mx.test ESMTP Sendarix")))
    }
}

@Suite("STARTTLS (RFC 3207)")
struct StartTLSTests {
    @Test("commands pipelined after STARTTLS are discarded (CVE-2011-0411 style injection)")
    func injection() {
        var harness = Harness()
        harness.input("EHLO c\r\n")
        let sent = harness.input("STARTTLS\r\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@y.test>\r\n")
        #expect(sent == "220 2.0.0 Ready to start TLS\r\n")
        #expect(harness.startTLSCount == 1)
        #expect(harness.lastActions.last == .startTLS)
        #expect(harness.session.timeout == 60)
        #expect(harness.input("MAIL FROM:<more@x.test>\r\n") == "", "plaintext before the handshake is dropped")
        harness.finishTLS()
        #expect(harness.logs.contains(.tlsEstablished(.init(version: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256"))))
        // Nothing from before the handshake survived: no HELO, no transaction.
        #expect(harness.input("RCPT TO:<victim@y.test>\r\n") == "503 5.5.1 Error: need MAIL command\r\n")
        #expect(harness.input("MAIL FROM:<a@x.test>\r\n") == "503 5.5.1 Error: send HELO/EHLO first\r\n")
    }

    @Test("after the handshake EHLO offers AUTH and no STARTTLS; a second STARTTLS gets 503")
    func afterHandshake() {
        var harness = Harness()
        harness.input("EHLO c\r\nSTARTTLS\r\n")
        harness.finishTLS()
        let ehlo = harness.input("EHLO c\r\n")
        #expect(ehlo.contains("AUTH PLAIN LOGIN"))
        #expect(!ehlo.contains("STARTTLS"))
        #expect(harness.input("STARTTLS\r\n") == "503 5.5.1 TLS already active\r\n")
    }

    @Test("STARTTLS unavailable gets 454, with an argument 501")
    func refusals() {
        var noTLS = Harness(.init(hostname: "mx.test", tlsAvailable: false))
        #expect(noTLS.input("STARTTLS\r\n") == "454 4.7.0 TLS not available\r\n")
        var harness = Harness()
        #expect(harness.input("STARTTLS now\r\n") == "501 5.5.4 Syntax: STARTTLS\r\n")
        #expect(harness.startTLSCount == 0)
    }

    @Test("a message received after STARTTLS is stamped ESMTPS with version and cipher")
    func receivedOverTLS() {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\nSTARTTLS\r\n")
        harness.finishTLS()
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\nx\r\n.\r\n")
        #expect(harness.message().contains("with ESMTPS (version=TLSv1.3 cipher=TLS_AES_128_GCM_SHA256)\r\n"))
        #expect(harness.enqueued[0].envelope.tlsInfo == .init(version: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256"))
    }
}
