import Testing
@testable import SpoolStore

@Suite("Spool state machine (pure)")
struct SpoolMachineTests {
    static let t0: Int64 = 1_700_000_000_000

    func enqueued(_ recipients: [String] = ["a@x", "b@x"]) -> StoredMessage {
        let t = SpoolMachine.apply(makeEnqueue("Q", recipients: recipients, at: Self.t0), current: nil, index: 1)
        guard case .put(let m) = t.message else { fatalError("enqueue did not store") }
        return m
    }

    func claim(_ owner: String, _ attempt: UInt32, at: Int64, for ms: Int64 = 60_000) -> SpoolCommand {
        .claim(SpoolCommand.Claim(queueID: "Q", owner: owner, attempt: attempt, issuedAt: at, expiresAt: at + ms))
    }

    func applied(_ command: SpoolCommand, _ m: StoredMessage?, index: UInt64 = 2) -> (SpoolMachine.Transition, StoredMessage?) {
        let t = SpoolMachine.apply(command, current: m, index: index)
        switch t.message {
        case .put(let new): return (t, new)
        case .remove: return (t, nil)
        case .unchanged: return (t, m)
        }
    }

    @Test("enqueue stores pending recipients due at receipt, with one accepted event each")
    func enqueue() {
        let t = SpoolMachine.apply(makeEnqueue("Q", recipients: ["a@x", "b@x"], at: Self.t0), current: nil, index: 7)
        guard case .put(let m) = t.message else { Issue.record("no record"); return }
        #expect(m.recipients.map(\.status) == [.pending, .pending])
        #expect(m.nextAttemptAt == Self.t0)
        #expect(t.body == Array("Subject: hi\r\n\r\nhello\r\n".utf8))
        #expect(t.events.map(\.type) == [.accepted, .accepted])
        #expect(t.events.map(\.id) == ["7-0", "7-1"])
        #expect(t.events.map(\.recipient) == ["a@x", "b@x"])
    }

    @Test("enqueue of an existing ID, without recipients or with an elided body is rejected")
    func enqueueRejected() {
        let m = enqueued()
        #expect(SpoolMachine.apply(makeEnqueue("Q"), current: m, index: 2).rejection?.code == .duplicate)
        #expect(SpoolMachine.apply(makeEnqueue("Q", recipients: []), current: nil, index: 2).rejection?.code == .invalidCommand)
        #expect(SpoolMachine.apply(makeEnqueue(""), current: nil, index: 2).rejection?.code == .invalidCommand)
        guard case .enqueue(var e) = makeEnqueue("Q") else { return }
        e.bodyElided = true
        #expect(SpoolMachine.apply(.enqueue(e), current: nil, index: 2).rejection?.code == .invalidCommand)
    }

    @Test("a second owner cannot claim while the first lease is unexpired, but can after expiry")
    func leaseExclusive() {
        let (t1, m1) = applied(claim("n1", 1, at: Self.t0), enqueued())
        #expect(t1.rejection == nil)
        #expect(m1?.lease?.owner == "n1")
        #expect(m1?.nextAttemptAt == Self.t0 + 60_000)

        let (t2, _) = applied(claim("n2", 1, at: Self.t0 + 1000), m1)
        #expect(t2.rejection?.code == .leaseConflict)
        let (t3, _) = applied(claim("n2", 2, at: Self.t0 + 1000), m1)
        #expect(t3.rejection?.code == .leaseConflict)

        // After expiry: the next attempt number is required.
        let (t4, _) = applied(claim("n2", 1, at: Self.t0 + 60_000), m1)
        #expect(t4.rejection?.code == .staleAttempt)
        let (t5, m5) = applied(claim("n2", 2, at: Self.t0 + 60_000), m1)
        #expect(t5.rejection == nil)
        #expect(m5?.lease == StoredMessage.Lease(owner: "n2", attempt: 2, expiresAt: Self.t0 + 120_000))
        #expect(m5?.attempts == 2)
    }

    @Test("the lease owner renews its attempt or supersedes it with the next; other numbers are stale")
    func renew() {
        let (_, m1) = applied(claim("n1", 1, at: Self.t0), enqueued())
        let (t2, m2) = applied(claim("n1", 1, at: Self.t0 + 30_000), m1)
        #expect(t2.rejection == nil)
        #expect(m2?.lease?.expiresAt == Self.t0 + 90_000)
        #expect(m2?.attempts == 1)
        #expect(applied(claim("n1", 3, at: Self.t0 + 30_000), m1).0.rejection?.code == .staleAttempt)
        #expect(applied(claim("n1", 0, at: Self.t0 + 30_000), m1).0.rejection?.code == .staleAttempt)
        // Restarted mid-attempt: the owner starts attempt 2; attempt 1's outcome is then stale.
        let (t3, m3) = applied(claim("n1", 2, at: Self.t0 + 30_000), m1)
        #expect(t3.rejection == nil)
        #expect(m3?.attempts == 2 && m3?.lease?.attempt == 2)
        let late = SpoolCommand.outcome(SpoolCommand.Outcome(queueID: "Q", attempt: 1, timestamp: Self.t0 + 31_000,
            results: [SpoolCommand.RecipientResult(recipient: "a@x", disposition: .delivered)]))
        #expect(SpoolMachine.apply(late, current: m3, index: 5).rejection?.code == .staleAttempt)
    }

    @Test("claiming a message with nothing due is refused")
    func notDue() {
        let (_, m1) = applied(claim("n1", 1, at: Self.t0), enqueued(["a@x"]))
        let deferred = SpoolCommand.outcome(SpoolCommand.Outcome(queueID: "Q", attempt: 1, timestamp: Self.t0 + 10,
            results: [SpoolCommand.RecipientResult(recipient: "a@x", disposition: .deferred(until: Self.t0 + 600_000))]))
        let (_, m2) = applied(deferred, m1)
        #expect(m2?.lease == nil)
        #expect(m2?.nextAttemptAt == Self.t0 + 600_000)
        #expect(applied(claim("n1", 2, at: Self.t0 + 20), m2).0.rejection?.code == .staleAttempt)
        #expect(applied(claim("n1", 2, at: Self.t0 + 600_000), m2).0.rejection == nil)
    }

    @Test("an outcome from a superseded attempt is rejected and changes nothing")
    func staleOutcome() {
        let (_, m1) = applied(claim("n1", 1, at: Self.t0), enqueued())
        let (_, m2) = applied(claim("n2", 2, at: Self.t0 + 60_000), m1)
        let late = SpoolCommand.outcome(SpoolCommand.Outcome(queueID: "Q", attempt: 1, timestamp: Self.t0 + 61_000,
            results: [SpoolCommand.RecipientResult(recipient: "a@x", disposition: .delivered)]))
        let t = SpoolMachine.apply(late, current: m2, index: 9)
        #expect(t.rejection?.code == .staleAttempt)
        #expect(t.message == .unchanged)
        #expect(t.events.isEmpty)
        // A second outcome for the same attempt (lease already released) is stale too.
        let ok = SpoolCommand.outcome(SpoolCommand.Outcome(queueID: "Q", attempt: 2, timestamp: Self.t0 + 61_000,
            results: [SpoolCommand.RecipientResult(recipient: "a@x", disposition: .deferred(until: Self.t0 + 1e6.int))]))
        let (t3, m3) = applied(ok, m2)
        #expect(t3.rejection == nil)
        #expect(SpoolMachine.apply(ok, current: m3, index: 10).rejection?.code == .staleAttempt)
    }

    @Test("outcomes record per-recipient results and events; a fully final message is removed")
    func outcomes() {
        let (_, m1) = applied(claim("n1", 1, at: Self.t0), enqueued(["a@x", "B@x", "c@x"]))
        let o = SpoolCommand.outcome(SpoolCommand.Outcome(queueID: "Q", attempt: 1, timestamp: Self.t0 + 5, results: [
            SpoolCommand.RecipientResult(recipient: "a@x", disposition: .delivered, smtpCode: 250, enhancedCode: "2.0.0",
                                         response: "ok", remoteHost: "mx1"),
            SpoolCommand.RecipientResult(recipient: "b@X", disposition: .bounced, smtpCode: 550, enhancedCode: "5.1.1",
                                         response: "unknown", remoteHost: "mx1", bounceClass: "bad-mailbox"),
            SpoolCommand.RecipientResult(recipient: "c@x", disposition: .deferred(until: Self.t0 + 300_000),
                                         smtpCode: 421),
        ]))
        let (t2, m2) = applied(o, m1, index: 3)
        #expect(t2.rejection == nil)
        #expect(m2?.recipients.map(\.status) == [.delivered, .bounced, .deferred])
        #expect(m2?.nextAttemptAt == Self.t0 + 300_000)
        #expect(t2.events.map(\.type) == [.delivered, .bounced, .deferred])
        #expect(t2.events[1].recipient == "B@x")
        #expect(t2.events[1].bounceClass == "bad-mailbox")
        #expect(t2.events[1].smtpCode == 550)
        #expect(t2.events.allSatisfy { $0.attempt == 1 && $0.timestampMillis == Self.t0 + 5 })

        let (_, m3) = applied(claim("n1", 2, at: Self.t0 + 300_000), m2)
        let done = SpoolCommand.outcome(SpoolCommand.Outcome(queueID: "Q", attempt: 2, timestamp: Self.t0 + 300_001,
            results: [SpoolCommand.RecipientResult(recipient: "c@x", disposition: .delivered),
                      SpoolCommand.RecipientResult(recipient: "a@x", disposition: .bounced)]))
        let t4 = SpoolMachine.apply(done, current: m3, index: 5)
        #expect(t4.message == .remove)
        #expect(t4.events.map(\.type) == [.delivered])  // a@x was already final
    }

    @Test("delete emits failed events for unfinished recipients; reschedule moves due time")
    func deleteAndReschedule() {
        let m = enqueued(["a@x", "b@x"])
        let r = applied(.reschedule(SpoolCommand.Reschedule(queueID: "Q", at: Self.t0 + 42)), m)
        #expect(r.1?.nextAttemptAt == Self.t0 + 42)
        let t = SpoolMachine.apply(.delete(SpoolCommand.Delete(queueID: "Q", reason: "by operator", timestamp: 5)),
                                   current: m, index: 4)
        #expect(t.message == .remove)
        #expect(t.events.map(\.type) == [.failed, .failed])
        #expect(t.events.first?.response == "by operator")
        #expect(SpoolMachine.apply(.delete(SpoolCommand.Delete(queueID: "Q", reason: "", timestamp: 5)),
                                   current: nil, index: 4).rejection?.code == .notFound)
    }

    @Test("applying the same commands twice from scratch gives identical transitions")
    func deterministic() {
        let commands: [SpoolCommand] = [
            makeEnqueue("Q", recipients: ["a@x", "b@x"], at: Self.t0),
            claim("n1", 1, at: Self.t0),
            .outcome(SpoolCommand.Outcome(queueID: "Q", attempt: 1, timestamp: Self.t0 + 1, results: [
                SpoolCommand.RecipientResult(recipient: "a@x", disposition: .delivered)])),
        ]
        func run() -> [SpoolMachine.Transition] {
            var m: StoredMessage?
            var out: [SpoolMachine.Transition] = []
            for (i, c) in commands.enumerated() {
                let (t, next) = applied(c, m, index: UInt64(i + 1))
                out.append(t)
                m = next
            }
            return out
        }
        #expect(run() == run())
    }
}

extension Double {
    var int: Int64 { Int64(self) }
}
