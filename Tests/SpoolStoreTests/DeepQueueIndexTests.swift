import Testing
@testable import SpoolStore

/// The indexes that keep the scheduler's work independent of the queue's depth (issue 16): the
/// lease table (a restarted node finds its own leases without walking the queue) and the backward
/// walk of the due index (fresh mail is found at once behind an overdue backlog).
@Suite struct DeepQueueIndexTests {
    static let t0: Int64 = 1_700_000_000_000

    /// A store holding `count` messages enqueued one millisecond apart from `t0`.
    static func filled(_ dir: TempDirectory, count: Int) throws -> SpoolStore {
        let store = try SpoolStore(directory: dir.path, options: .init(durable: false))
        let entries = (0..<count).map { i in
            LogEntry(index: UInt64(i + 1), term: 1, command: makeEnqueue(String(format: "M%05d", i), at: t0 + Int64(i)))
        }
        #expect(try store.commit(entries).allSatisfy { $0.isSuccess })
        return store
    }

    static func claim(_ id: String, owner: String, at: Int64, attempt: UInt32 = 1) -> SpoolCommand {
        .claim(.init(queueID: id, owner: owner, attempt: attempt, issuedAt: at, expiresAt: at + 60_000))
    }

    @Test("the lease table lists exactly the messages each owner holds, and claims, outcomes and deletes keep it in step")
    func leaseTable() throws {
        let dir = TempDirectory()
        let store = try Self.filled(dir, count: 2_000)
        var index: UInt64 = 2_000
        func apply(_ command: SpoolCommand) throws -> Bool {
            index += 1
            return try store.commit([LogEntry(index: index, term: 1, command: command)])[0].isSuccess
        }
        let now = Self.t0 + 10_000
        for id in ["M00007", "M01500", "M00300"] { #expect(try apply(Self.claim(id, owner: "n1", at: now))) }
        for id in ["M00008", "M01999"] { #expect(try apply(Self.claim(id, owner: "n10", at: now))) }
        // Sorted by queue ID; "n1" is not confused with "n10", whose key it prefixes.
        #expect(try store.leasedMessages(owner: "n1", limit: 100) == ["M00007", "M00300", "M01500"])
        #expect(try store.leasedMessages(owner: "n10", limit: 100) == ["M00008", "M01999"])
        #expect(try store.leasedMessages(owner: "n2", limit: 100).isEmpty)
        // Paging.
        #expect(try store.leasedMessages(owner: "n1", limit: 2) == ["M00007", "M00300"])
        #expect(try store.leasedMessages(owner: "n1", after: "M00300", limit: 2) == ["M01500"])
        // An outcome ends the lease; a delete removes the message; a takeover moves the lease.
        #expect(try apply(.outcome(.init(queueID: "M00007", attempt: 1, timestamp: now + 1, results: [
            .init(recipient: "rcpt@example.org", disposition: .deferred(until: now + 300_000))]))))
        #expect(try apply(.delete(.init(queueID: "M00300", reason: "operator", timestamp: now + 2))))
        #expect(try apply(Self.claim("M00008", owner: "n1", at: now + 70_000, attempt: 2)))
        #expect(try store.leasedMessages(owner: "n1", limit: 100) == ["M00008", "M01500"])
        #expect(try store.leasedMessages(owner: "n10", limit: 100) == ["M01999"])
        #expect(try store.tableCounts()["leases"] == 3)
        store.close()
    }

    @Test("behind an overdue backlog the newest due messages come first from the backward walk; nothing not yet due is returned")
    func recentlyDue() throws {
        let dir = TempDirectory()
        let store = try Self.filled(dir, count: 3_000)
        // Due at t0 ... t0 + 2999. At t0 + 2499 the 500 latest are not due yet.
        let now = Self.t0 + 2_499
        #expect(try store.recentlyDueMessages(now: now, limit: 3) == ["M02499", "M02498", "M02497"])
        #expect(try store.dueMessages(now: now, limit: 3) == ["M00000", "M00001", "M00002"])
        let all = try store.recentlyDueMessages(now: now, limit: 10_000)
        #expect(all.count == 2_500)
        #expect(all.first == "M02499" && all.last == "M00000")
        // Past the newest entry, and before the oldest.
        #expect(try store.recentlyDueMessages(now: Self.t0 + 999_999, limit: 1) == ["M02999"])
        #expect(try store.recentlyDueMessages(now: Self.t0 - 1, limit: 10).isEmpty)
        store.close()
    }
}
