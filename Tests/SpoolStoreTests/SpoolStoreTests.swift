import CLMDB
import Foundation
import Testing
@testable import SpoolStore

@Suite("SpoolStore with LocalLog")
struct SpoolStoreTests {
    static let t0: Int64 = 1_700_000_000_000

    @Test("an enqueued message is readable: record, body, queue listing, due list and log record")
    func enqueueAndRead() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        let body = testBody(size: 9000, seed: 3)
        let index = try await log.proposeAndWait(makeEnqueue("Q1", recipients: ["a@x", "b@x"], at: Self.t0, body: body)).get()
        #expect(index == 1)
        let m = try #require(try store.message(id: "Q1"))
        #expect(m.recipients.map(\.address) == ["a@x", "b@x"])
        #expect(m.bodySize == 9000)
        #expect(try store.messageBody(id: "Q1") == body)
        #expect(try store.messageBody(id: "nope") == nil)
        #expect(try store.queueEntries(limit: 10).map(\.queueID) == ["Q1"])
        #expect(try store.dueMessages(now: Self.t0 - 1, limit: 10).isEmpty)
        #expect(try store.dueMessages(now: Self.t0, limit: 10) == ["Q1"])
        #expect(try store.nextDueTime() == Self.t0)
        let entry = try #require(try store.logEntry(index: 1))
        guard case .enqueue(let e) = entry.command else { Issue.record("log holds \(entry.command)"); return }
        #expect(e.bodyElided && e.elidedBodySize == 9000 && e.queueID == "Q1")
        #expect(try store.lastApplied().index == 1)
        log.stop()
        store.close()
    }

    @Test("a duplicate enqueue fails with .duplicate and leaves the original intact")
    func duplicate() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        _ = try await log.proposeAndWait(makeEnqueue("Q", body: [1, 2, 3])).get()
        let second = await log.proposeAndWait(makeEnqueue("Q", recipients: ["other@x"], body: [9]))
        #expect(second.failureCode == .duplicate)
        #expect(try store.messageBody(id: "Q") == [1, 2, 3])
        #expect(try store.message(id: "Q")?.recipients.map(\.address) == ["rcpt@example.org"])
        log.stop()
    }

    @Test("claim, deferral, reclaim and delivery move the message through the queue and then out of it")
    func lifecycle() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        _ = try await log.proposeAndWait(makeEnqueue("Q", recipients: ["a@x"], at: Self.t0)).get()
        let claim1 = SpoolCommand.claim(.init(queueID: "Q", owner: "n1", attempt: 1, issuedAt: Self.t0, expiresAt: Self.t0 + 60_000))
        #expect(await log.proposeAndWait(claim1).isSuccess)
        // Leased: not due until the lease expires.
        #expect(try store.dueMessages(now: Self.t0 + 1, limit: 10).isEmpty)
        #expect(try store.dueMessages(now: Self.t0 + 60_000, limit: 10) == ["Q"])
        let rival = SpoolCommand.claim(.init(queueID: "Q", owner: "n2", attempt: 2, issuedAt: Self.t0 + 10, expiresAt: Self.t0 + 70_000))
        #expect(await log.proposeAndWait(rival).failureCode == .leaseConflict)

        let deferred = SpoolCommand.outcome(.init(queueID: "Q", attempt: 1, timestamp: Self.t0 + 100, results: [
            .init(recipient: "a@x", disposition: .deferred(until: Self.t0 + 300_000), smtpCode: 451, response: "later")]))
        #expect(await log.proposeAndWait(deferred).isSuccess)
        #expect(try store.message(id: "Q")?.lease == nil)
        #expect(try store.dueMessages(now: Self.t0 + 299_999, limit: 10).isEmpty)
        #expect(try store.dueMessages(now: Self.t0 + 300_000, limit: 10) == ["Q"])
        #expect(await log.proposeAndWait(deferred).failureCode == .staleAttempt)

        let claim2 = SpoolCommand.claim(.init(queueID: "Q", owner: "n2", attempt: 2, issuedAt: Self.t0 + 300_000, expiresAt: Self.t0 + 360_000))
        #expect(await log.proposeAndWait(claim2).isSuccess)
        let delivered = SpoolCommand.outcome(.init(queueID: "Q", attempt: 2, timestamp: Self.t0 + 300_500, results: [
            .init(recipient: "a@x", disposition: .delivered, smtpCode: 250, enhancedCode: "2.0.0", remoteHost: "mx")]))
        #expect(await log.proposeAndWait(delivered).isSuccess)
        #expect(try store.message(id: "Q") == nil)
        #expect(try store.messageBody(id: "Q") == nil)
        let counts = try store.tableCounts()
        #expect(counts["messages"] == 0 && counts["bodies"] == 0 && counts["due"] == 0)
        #expect(try store.events(EventQuery(queueId: "Q")).map(\.type) == [.delivered, .deferred, .accepted])
        log.stop()
    }

    @Test("a 50 MB body round-trips byte-exact, streams in chunks and is fully removed on delete")
    func bigBody() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        let body = testBody(size: 50 * 1024 * 1024, seed: 50)
        _ = try await log.proposeAndWait(makeEnqueue("BIG", body: body)).get()
        #expect(try store.messageBody(id: "BIG") == body)
        var streamed = 0
        var chunksMatch = true
        try store.forEachBodyChunk(id: "BIG") { chunk in
            chunksMatch = chunksMatch && chunk.elementsEqual(body[streamed..<streamed + chunk.count])
            streamed += chunk.count
        }
        #expect(streamed == body.count && chunksMatch)
        #expect(try store.tableCounts()["bodies"] == SpoolStore.segmentCount(bodySize: body.count, segment: SpoolKeys.chunkSize))
        _ = try await log.proposeAndWait(.delete(.init(queueID: "BIG", reason: "test", timestamp: 1))).get()
        #expect(try store.tableCounts()["bodies"] == 0)
        log.stop()
    }

    @Test("an empty body and a body of exactly one chunk round-trip")
    func chunkEdges() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        for (id, size) in [("E0", 0), ("E1", SpoolKeys.chunkSize), ("E2", SpoolKeys.chunkSize + 1)] {
            let body = testBody(size: size, seed: UInt64(size))
            _ = try await log.proposeAndWait(makeEnqueue(id, body: body)).get()
            #expect(try store.messageBody(id: id) == body)
        }
        log.stop()
    }

    @Test("data survives close and reopen, and log indexes continue")
    func reopen() async throws {
        let dir = TempDirectory()
        do {
            let store = try SpoolStore(directory: dir.path)
            let log = try LocalLog(store: store)
            for i in 0..<5 {
                _ = try await log.proposeAndWait(makeEnqueue("R\(i)", body: testBody(size: 100 * i, seed: UInt64(i)))).get()
            }
            _ = try await log.proposeAndWait(.suppress(.init(tenant: "acme", address: "Bad@X", reason: "manual", createdAt: 1))).get()
            log.stop()
            store.close()
            #expect(throws: StoreError.self) { try store.message(id: "R1") }
            #expect(await log.proposeAndWait(makeEnqueue("late")).failureCode == .closed)
        }
        let store = try SpoolStore(directory: dir.path)
        #expect(try store.lastApplied().index == 6)
        for i in 0..<5 {
            #expect(try store.messageBody(id: "R\(i)") == testBody(size: 100 * i, seed: UInt64(i)))
        }
        #expect(try store.suppression(tenant: "acme", address: "bad@x")?.reason == "manual")
        #expect(try store.events(EventQuery(type: .accepted)).count == 5)
        let log = try LocalLog(store: store)
        #expect(try await log.proposeAndWait(makeEnqueue("R5")).get() == 7)
        log.stop()
        store.close()
    }

    @Test("opening the same directory twice in one process is refused until the first is closed")
    func doubleOpen() throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let error = #expect(throws: StoreError.self) { try SpoolStore(directory: dir.path + "/.") }
        #expect(error?.code == .alreadyOpen)
        store.close()
        let again = try SpoolStore(directory: dir.path)
        again.close()
    }

    @Test("readers on other threads see consistent messages and bodies while the writer commits")
    func concurrentReads() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        let total = 300
        let failures = await withTaskGroup(of: Int.self) { group in
            group.addTask {
                for i in 0..<total {
                    _ = await log.proposeAndWait(makeEnqueue("W\(100_000 + i)", body: testBody(size: 3000 + i, seed: UInt64(i))))
                }
                return 0
            }
            for _ in 0..<3 {
                group.addTask {
                    var bad = 0
                    var seen = 0
                    while seen < total {
                        guard let entries = try? store.queueEntries(limit: 1000) else { return bad + 1 }
                        seen = entries.count
                        if let last = entries.last {
                            let i = Int(last.queueID.dropFirst())! - 100_000
                            if (try? store.messageBody(id: last.queueID)) != testBody(size: 3000 + i, seed: UInt64(i)) { bad += 1 }
                        }
                        // Events commit with their message: a later snapshot never shows fewer.
                        if ((try? store.events(EventQuery(limit: 1000)))?.count ?? 0) < seen { bad += 1 }
                        await Task.yield()
                    }
                    return bad
                }
            }
            var sum = 0
            for await f in group { sum += f }
            return sum
        }
        #expect(failures == 0)
        #expect(try store.queueCount() == total)
        log.stop()
    }

    @Test("a store written with another layout version is refused, not misread")
    func schemaVersion() async throws {
        let dir = TempDirectory()
        do {
            let store = try SpoolStore(directory: dir.path)
            var w = BinaryWriter()
            w.u32(SpoolKeys.schemaVersion + 1)
            let txn = try #require(try store.withOpenEnv { () -> OpaquePointer? in
                var t: OpaquePointer?
                _ = mdb_txn_begin(store.env, nil, 0, &t)
                return t
            })
            try LMDBTransaction(txn: txn).put(store.dbMeta, SpoolKeys.schema, w.bytes)
            #expect(mdb_txn_commit(txn) == 0)
            store.close()
        }
        let error = #expect(throws: StoreError.self) { try SpoolStore(directory: dir.path) }
        #expect(error?.code == .corrupt)
        // The failed open released the directory: a later open is not refused as "already open".
        let again = #expect(throws: StoreError.self) { try SpoolStore(directory: dir.path) }
        #expect(again?.code == .corrupt)
    }

    @Test("a backup copy opens as a store with the same messages, bodies, events and position")
    func backup() async throws {
        let dir = TempDirectory()
        let copyDir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        for i in 0..<3 { _ = try await log.proposeAndWait(makeEnqueue("B\(i)", body: testBody(size: 5000, seed: UInt64(i)))).get() }
        try store.backup(to: copyDir.path + "/snap")
        _ = try await log.proposeAndWait(makeEnqueue("after-backup")).get()
        log.stop()
        let copy = try SpoolStore(directory: copyDir.path + "/snap")
        #expect(try copy.lastApplied().index == 3)
        #expect(try copy.queueEntries(limit: 10).map(\.queueID) == ["B0", "B1", "B2"])
        #expect(try copy.messageBody(id: "B2") == testBody(size: 5000, seed: 2))
        #expect(try copy.events(EventQuery(type: .accepted)).count == 3)
        copy.close()
    }

    @Test("committing entries directly (Raft applier path) skips replays of already applied indexes")
    func replayedEntries() throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let t0: Int64 = Self.t0
        let claim = SpoolCommand.claim(.init(queueID: "Q", owner: "n1", attempt: 1, issuedAt: t0, expiresAt: t0 + 1000))
        let first = try store.commit([LogEntry(index: 1, term: 3, command: makeEnqueue("Q", at: t0)),
                                      LogEntry(index: 2, term: 3, command: claim)], appendToLog: false)
        #expect(first.allSatisfy { $0.isSuccess })
        #expect(try store.lastApplied() == (2, 3) as (UInt64, UInt64))
        #expect(try store.logEntry(index: 1) == nil)
        // A restart re-delivers 1...3: only 3 is applied; the claim is not applied twice.
        let outcome = SpoolCommand.outcome(.init(queueID: "Q", attempt: 1, timestamp: t0 + 1, results: [
            .init(recipient: "rcpt@example.org", disposition: .deferred(until: t0 + 5000))]))
        let replay = try store.commit([LogEntry(index: 1, term: 3, command: makeEnqueue("Q", at: t0)),
                                       LogEntry(index: 2, term: 3, command: claim),
                                       LogEntry(index: 3, term: 4, command: outcome)], appendToLog: false)
        #expect(replay.allSatisfy { $0.isSuccess })
        #expect(try store.message(id: "Q")?.attempts == 1)
        #expect(try store.message(id: "Q")?.lease == nil)
        #expect(try store.lastApplied() == (3, 4) as (UInt64, UInt64))
        #expect(try store.events(EventQuery()).map(\.type) == [.deferred, .accepted])
        store.close()
    }

    @Test("an over-long queue ID is rejected alone; the rest of its batch commits and reads return nothing")
    func overlongQueueID() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        let long = String(repeating: "x", count: 600)
        log.hold()
        async let claim = log.proposeAndWait(.claim(.init(queueID: long, owner: "n1", attempt: 1, issuedAt: 0, expiresAt: 1)))
        async let enqueue = log.proposeAndWait(makeEnqueue("ok"))
        while log.pendingCount < 2 { await Task.yield() }
        log.release()
        let (c, e) = await (claim, enqueue)
        #expect(c.failureCode == .invalidCommand)
        #expect(e.isSuccess)
        #expect(await log.proposeAndWait(makeEnqueue(long)).failureCode == .invalidCommand)
        #expect(try store.message(id: long) == nil)
        #expect(try store.messageBody(id: long) == nil)
        #expect(try store.queueEntries(limit: 10, after: long).isEmpty)
        #expect(try store.queueEntries(limit: 10, after: "a" + long).map(\.queueID) == ["ok"])
        log.stop()
    }

    @Test("queue listing pages by queue ID")
    func paging() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        for i in 0..<7 { _ = try await log.proposeAndWait(makeEnqueue("P\(i)")).get() }
        let page1 = try store.queueEntries(limit: 3)
        let page2 = try store.queueEntries(limit: 3, after: page1.last?.queueID)
        let page3 = try store.queueEntries(limit: 3, after: page2.last?.queueID)
        #expect((page1 + page2 + page3).map(\.queueID) == (0..<7).map { "P\($0)" })
        #expect(try store.queueEntries(limit: 3, after: "P0").first?.queueID == "P1")
        #expect(try store.queueCount() == 7)
        log.stop()
    }

    @Test("suppression entries are added, listed and removed per tenant")
    func suppressions() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        _ = try await log.proposeAndWait(.suppress(.init(tenant: "a", address: "X@y", reason: "hard-bounce", createdAt: 5))).get()
        _ = try await log.proposeAndWait(.suppress(.init(tenant: "a", address: "z@y", reason: "complaint", createdAt: 6))).get()
        _ = try await log.proposeAndWait(.suppress(.init(tenant: "b", address: "x@y", reason: "manual", createdAt: 7))).get()
        #expect(try store.suppressions(tenant: "a", limit: 10).map(\.address) == ["x@y", "z@y"])
        _ = try await log.proposeAndWait(.unsuppress(tenant: "a", address: "x@Y")).get()
        #expect(try store.suppression(tenant: "a", address: "x@y") == nil)
        #expect(try store.suppression(tenant: "b", address: "x@y")?.createdAt == 7)
        log.stop()
    }

    @Test("a full map fails with .storageFull, stores nothing of the failed batch and recovers after deletes")
    func mapFull() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path, options: .init(mapSize: 2 << 20))
        let log = try LocalLog(store: store)
        var accepted: [String] = []
        var failure: StoreError.Code?
        for i in 0..<100 {
            let id = "F\(i)"
            switch await log.proposeAndWait(makeEnqueue(id, body: testBody(size: 100_000, seed: UInt64(i)))) {
            case .success: accepted.append(id)
            case .failure(let e): failure = e.code
            }
            if failure != nil { break }
        }
        #expect(failure == .storageFull)
        #expect(!accepted.isEmpty)
        #expect(try store.message(id: "F\(accepted.count)") == nil)
        #expect(try store.queueCount() == accepted.count)
        for (i, id) in accepted.enumerated() {
            #expect(try store.messageBody(id: id) == testBody(size: 100_000, seed: UInt64(i)))
        }
        #expect(try store.lastApplied().index == UInt64(accepted.count))
        // Deleting frees pages; a new enqueue then fits and indexes stay contiguous.
        for id in accepted.prefix(3) {
            _ = try await log.proposeAndWait(.delete(.init(queueID: id, reason: "space", timestamp: 1))).get()
        }
        let index = try await log.proposeAndWait(makeEnqueue("after", body: testBody(size: 50_000, seed: 9))).get()
        #expect(index == UInt64(accepted.count + 4))
        #expect(try store.logEntry(index: index)?.command.queueID == "after")
        log.stop()
    }
}
