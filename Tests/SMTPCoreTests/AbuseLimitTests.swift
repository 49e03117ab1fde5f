import Foundation
import Testing
@testable import SMTPCore

/// Pipelined input while the shell is busy, mail loops and bounces of unauthenticated mail.
@Suite("Abuse limits: pending input, hop count, RET for unauthenticated mail")
struct AbuseLimitTests {
    static let relay = SMTPSession.Configuration(hostname: "mx.test", portKind: .relay, localDomains: ["local.test"])

    static func message(hops: Int) -> String {
        var text = ""
        for i in 0..<hops { text += "Received: from h\(i).example by h\(i + 1).example; Sun, 29 Nov 2026 09:47:19 +0000\r\n" }
        return text + "Subject: loop\r\n\r\nbody\r\n"
    }

    @Test("while an enqueue is pending, the session asks the shell to stop reading once it holds maxPendingInput bytes, and reads on after the reply")
    func wantsInputWhileEnqueuePending() {
        var harness = Harness(.init(hostname: "mx.test", portKind: .relay, localDomains: ["local.test"], maxPendingInput: 4096))
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\nx\r\n.\r\n")
        #expect(harness.enqueued.count == 1)
        #expect(harness.session.wantsInput)
        harness.input(String(repeating: "NOOP\r\n", count: 600)) // 3600 bytes
        #expect(harness.session.wantsInput)
        harness.input(String(repeating: "NOOP\r\n", count: 100)) // 4200 bytes held
        #expect(!harness.session.wantsInput)
        let sent = harness.completeEnqueue(.queued("Q1"))
        #expect(Harness.codes(sent) == [250] + Array(repeating: 250, count: 700))
        #expect(harness.session.wantsInput)
    }

    @Test("an AUTH check pending with pipelined input also stops reading past the cap")
    func wantsInputWhileAuthPending() {
        var harness = Harness.tls(.init(hostname: "mx.test", portKind: .smtps, maxPendingInput: 100))
        harness.input("EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n" + String(repeating: "NOOP\r\n", count: 20))
        #expect(harness.authRequests.count == 1)
        #expect(!harness.session.wantsInput)
        harness.completeAuth(.success(user: "alice", tenant: "acme"))
        #expect(harness.session.wantsInput)
    }

    @Test("input held while an enqueue is pending counts against the body budget in 64 KiB steps and is given back")
    func heldInputIsCounted() {
        let budget = BodyMemoryBudget(limit: 10 << 20)
        var harness = Harness(Self.relay, budget: budget)
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\nx\r\n.\r\n")
        #expect(budget.inUse == 64 * 1024, "the body's step, held until the enqueue is durable")
        harness.input(String(repeating: "N", count: 70_000))
        #expect(budget.inUse == 64 * 1024 + 128 * 1024)
        #expect(!harness.session.wantsInput)
        harness.completeEnqueue(.queued("Q1"))
        // The N line is consumed (and refused as too long): nothing is held any more.
        #expect(budget.inUse == 0)
        // (The CRLF ends the over-long N line, which is then refused.)
        harness.input("\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\ny\r\n.\r\n" + String(repeating: "N", count: 1000))
        #expect(harness.enqueued.count == 2)
        #expect(budget.inUse == 2 * 64 * 1024)
        harness.session.connectionClosed()
        #expect(budget.inUse == 0)
    }

    @Test("held input counts even past the budget's limit, and then a new body is refused with 452 4.3.1")
    func heldInputCanExceedBudget() {
        let budget = BodyMemoryBudget(limit: 128 * 1024)
        var harness = Harness(Self.relay, budget: budget)
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\nx\r\n.\r\n")
        harness.input(String(repeating: "N", count: 150_000))
        #expect(budget.inUse == 64 * 1024 + 192 * 1024)
        var other = Harness(Self.relay, budget: budget)
        other.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\n")
        #expect(Harness.codes(other.input("y\r\n.\r\n")) == [452])
    }

    @Test("hop count: 100 Received fields pass, 101 get 554 5.4.6 Too many hops at the end of DATA and of BDAT")
    func hopCount() {
        var harness = Harness(Self.relay)
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\n")
        harness.input(Self.message(hops: 100) + ".\r\n")
        #expect(harness.enqueued.count == 1)
        harness.completeEnqueue(.queued("Q1"))
        harness.input("MAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\n")
        #expect(harness.input(Self.message(hops: 101) + ".\r\n") == "554 5.4.6 Too many hops\r\n")
        #expect(harness.enqueued.count == 1)
        let bdat = Self.message(hops: 101)
        harness.input("MAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\n")
        #expect(harness.input("BDAT \(bdat.utf8.count) LAST\r\n" + bdat) == "554 5.4.6 Too many hops\r\n")
        #expect(harness.enqueued.count == 1)
    }

    @Test("the hop limit is configurable; Received in the body or as part of another name does not count; case and space before the colon do")
    func hopCountParsing() {
        #expect(HopCount.receivedFields(in: Array("received: a\r\nRECEIVED : b\r\nX-Received: c\r\nReceivedX: d\r\n\r\nReceived: e\r\n".utf8)) == 2)
        #expect(HopCount.receivedFields(in: Array("Received: a\nReceived: b\n\nReceived: c\n".utf8)) == 2)
        #expect(HopCount.receivedFields(in: Array("\r\nReceived: a\r\n".utf8)) == 0)
        #expect(HopCount.receivedFields(in: Array("Received: a\r\n b\r\nReceived: c".utf8)) == 2)
        var harness = Harness(.init(hostname: "mx.test", portKind: .relay, localDomains: ["local.test"], maxHops: 2))
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\n")
        #expect(Harness.codes(harness.input(Self.message(hops: 3) + ".\r\n")) == [554])
    }

    @Test("unauthenticated relay mail is queued with RET=HDRS whatever the client asked; authenticated and trusted mail keep their RET")
    func unauthenticatedMailBouncesHeadersOnly() {
        var relay = Harness(Self.relay)
        relay.input("EHLO c\r\nMAIL FROM:<a@r.test> RET=FULL\r\nRCPT TO:<b@local.test>\r\nDATA\r\nx\r\n.\r\n")
        relay.completeEnqueue(.queued("Q1"))
        relay.input("MAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\nx\r\n.\r\n")
        #expect(relay.enqueued.map(\.envelope.dsnReturn) == [.headers, .headers])

        var submission = Harness.authenticated()
        submission.input("MAIL FROM:<a@r.test> RET=FULL\r\nRCPT TO:<b@remote.test>\r\nDATA\r\nx\r\n.\r\n")
        submission.completeEnqueue(.queued("Q1"))
        submission.input("MAIL FROM:<a@r.test>\r\nRCPT TO:<b@remote.test>\r\nDATA\r\nx\r\n.\r\n")
        #expect(submission.enqueued.map(\.envelope.dsnReturn) == [.full, nil])

        var trusted = Harness.tls(.init(hostname: "mx.test", portKind: .smtps), trusted: true)
        trusted.input("EHLO c\r\nMAIL FROM:<a@r.test> RET=FULL\r\nRCPT TO:<b@remote.test>\r\nDATA\r\nx\r\n.\r\n")
        #expect(trusted.enqueued.map(\.envelope.dsnReturn) == [.full])
    }

    @Test("relay port: a recipient outside the local domains is refused at RCPT with 554 5.7.1, a local one accepted")
    func relayPortRecipients() {
        var harness = Harness(Self.relay)
        let sent = harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@elsewhere.test>\r\nRCPT TO:<b@local.test>\r\n")
        #expect(sent.contains("554 5.7.1 Relay access denied\r\n"))
        #expect(sent.hasSuffix("250 2.1.5 Recipient OK\r\n"))
    }
}
