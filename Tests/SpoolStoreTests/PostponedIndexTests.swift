import CLMDB
import Foundation
import SpoolStore
import Testing

/// The spool's postponed table (issue 16): a destination's postponed mail listed apart from every
/// other destination's, kept in the write transactions of the due index; the batched pull forward
/// (`SpoolCommand.pullForward`, tag 15, format 6); and a store written before the table existed.
@Suite("Spool postponed index and pull forward")
struct PostponedIndexTests {
    static func enqueue(_ id: String, to address: String, at: Int64) -> SpoolCommand {
        .enqueue(SpoolCommand.Enqueue(queueID: id, messageID: "\(id)@t", tenant: "t", sender: "s@t",
                                      recipients: [SpoolCommand.Recipient(address: address)],
                                      receivedAt: at, body: Array("x\r\n".utf8)))
    }

    static func postpone(_ ids: [String], from seen: Int64, to at: Int64) -> SpoolCommand {
        .postpone(SpoolCommand.Postpone(issuedAt: seen, items: ids.enumerated().map {
            .init(queueID: $0.element, at: at + Int64($0.offset), seen: seen)
        }))
    }

    @Test("two destinations postponed: each one's entries are its own, in due order; pulling, claiming and delivering remove them")
    func perDestination() throws {
        let (store, log, dir) = try PostponeSeenTests.open()
        defer {
            log.stop()
            store.close()
            try? FileManager.default.removeItem(atPath: dir)
        }
        let gmail = (0..<5).map { "g\($0)" }, yahoo = (0..<5).map { "y\($0)" }
        for id in gmail { _ = try PostponeTests.commit(log, Self.enqueue(id, to: "\(id)@Gmail.test", at: 1_000)).get() }
        for id in yahoo { _ = try PostponeTests.commit(log, Self.enqueue(id, to: "\(id)@yahoo.test", at: 1_000)).get() }
        _ = try PostponeTests.commit(log, Self.postpone(Array(gmail.reversed()), from: 1_000, to: 50_000)).get()
        _ = try PostponeTests.commit(log, Self.postpone(yahoo, from: 1_000, to: 40_000)).get()
        #expect(try store.tableCounts()["postponed"] == 10)
        let g = try store.postponedEntries(destination: "gmail.test", after: nil, limit: 100)
        #expect(g.map(\.queueID) == Array(gmail.reversed()) && g.map(\.at) == (0..<5).map { 50_000 + Int64($0) }, "\(g)")
        let y = try store.postponedEntries(destination: "yahoo.test", after: nil, limit: 3)
        #expect(y.map(\.queueID) == ["y0", "y1", "y2"])
        #expect(try store.postponedEntries(destination: "yahoo.test", after: y.last, limit: 100).map(\.queueID) == ["y3", "y4"])
        #expect(try store.postponedEntries(destination: "yahoo.test", after: nil, through: 40_001, limit: 100).count == 2)
        #expect(try store.postponedEntries(destination: "other.test", after: nil, limit: 100).isEmpty)

        // A pull makes g4 and g3 due now; g2's item names a due time it no longer has: left alone.
        let pull = SpoolCommand.PullForward(at: 2_000, items: [.init(queueID: "g4", seen: 50_000), .init(queueID: "g3", seen: 50_001),
                                                               .init(queueID: "g2", seen: 7), .init(queueID: "gone", seen: 1)])
        _ = try PostponeTests.commit(log, .pullForward(pull)).get()
        #expect(try store.message(id: "g4")?.nextAttemptAt == 2_000 && store.message(id: "g3")?.nextAttemptAt == 2_000)
        #expect(try store.message(id: "g2")?.nextAttemptAt == 50_002)
        #expect(try store.postponedEntries(destination: "gmail.test", after: nil, limit: 100).map(\.queueID) == ["g2", "g1", "g0"])
        #expect(try store.dueEntries(now: 2_000, after: nil, limit: 10).map(\.queueID).sorted() == ["g3", "g4"])
        // A retry-now, a claim and an outcome take messages out of the table too.
        _ = try PostponeTests.commit(log, .reschedule(SpoolCommand.Reschedule(queueID: "y0", at: 3_000))).get()
        _ = try PostponeTests.commit(log, .claim(SpoolCommand.Claim(queueID: "g4", owner: "n", attempt: 1, issuedAt: 2_000,
                                                                    expiresAt: 60_000))).get()
        _ = try PostponeTests.commit(log, .delete(SpoolCommand.Delete(queueID: "y1", reason: "op", timestamp: 3_000))).get()
        _ = try PostponeTests.commit(log, .claim(SpoolCommand.Claim(queueID: "y0", owner: "n", attempt: 1, issuedAt: 3_000,
                                                                    expiresAt: 60_000))).get()
        _ = try PostponeTests.commit(log, .outcome(SpoolCommand.Outcome(queueID: "y0", attempt: 1, timestamp: 3_500, results: [
            SpoolCommand.RecipientResult(recipient: "y0@yahoo.test", disposition: .delivered, smtpCode: 250, enhancedCode: "2.0.0",
                                         response: "ok", remoteHost: "mx")]))).get()
        #expect(try store.postponedEntries(destination: "yahoo.test", after: nil, limit: 100).map(\.queueID) == ["y2", "y3", "y4"])
        #expect(try store.tableCounts()["postponed"] == 6, "g2, g1, g0, y2, y3, y4")
        // A leased message is not pulled.
        let leased = SpoolCommand.PullForward(at: 2_500, items: [.init(queueID: "g4", seen: 60_000)])
        _ = try PostponeTests.commit(log, .pullForward(leased)).get()
        #expect(try store.message(id: "g4")?.lease != nil && store.message(id: "g4")?.recipients.map(\.nextAttemptAt) == [2_000])
    }

    @Test("a message to two domains, both down, is listed under each: either destination's pull finds it; a pull removes both entries")
    func twoDomains() throws {
        let (store, log, dir) = try PostponeSeenTests.open()
        defer {
            log.stop()
            store.close()
            try? FileManager.default.removeItem(atPath: dir)
        }
        let both = SpoolCommand.enqueue(SpoolCommand.Enqueue(
            queueID: "m2", messageID: "m2@t", tenant: "t", sender: "s@t",
            recipients: [SpoolCommand.Recipient(address: "a@yahoo.test"), SpoolCommand.Recipient(address: "b@Gmail.test")],
            receivedAt: 1_000, body: Array("x\r\n".utf8)))
        _ = try PostponeTests.commit(log, both).get()
        _ = try PostponeTests.commit(log, Self.postpone(["m2"], from: 1_000, to: 50_000)).get()
        #expect(try store.tableCounts()["postponed"] == 2)
        #expect(try store.postponedEntries(destination: "gmail.test", after: nil, limit: 10).map(\.queueID) == ["m2"])
        #expect(try store.postponedEntries(destination: "yahoo.test", after: nil, limit: 10).map(\.queueID) == ["m2"])
        // A pull by one destination makes the message due: both entries go.
        _ = try PostponeTests.commit(log, .pullForward(SpoolCommand.PullForward(at: 2_000, items: [.init(queueID: "m2", seen: 50_000)]))).get()
        #expect(try store.tableCounts()["postponed"] == 0)
    }

    @Test("format 6, tag 15: round-trips; below 6 a no-op for readers and refused by the format gate; tag 15 labelled 5 is refused")
    func formats() throws {
        let p = SpoolCommand.pullForward(SpoolCommand.PullForward(at: 9, items: [.init(queueID: "a", seen: 5), .init(queueID: "bb", seen: -3)]))
        let bytes = p.encoded()
        #expect(SpoolCommand.formatVersion >= 6)
        #expect(bytes.first == 6 && bytes[1] == 15)
        #expect(try SpoolCommand(decoding: bytes) == p)
        #expect(p.formatProblem(format: 5)?.code == .unavailable)
        #expect(p.formatProblem(format: 6) == nil)
        let noOp = SpoolCommand.pruneEvents(SpoolCommand.PruneEvents(before: Int64.min, maxCount: 0))
        #expect(try SpoolCommand(decoding: p.encoded(format: 5)) == noOp)
        #expect(try SpoolCommand(decoding: #require(SpoolCommand.downgraded(bytes, to: 5))) == noOp)
        var mislabelled = bytes
        mislabelled[0] = 5
        #expect(throws: StoreError.self) { try SpoolCommand(decoding: mislabelled) }
    }

    @Test("a store written before the postponed table opens, records the latest due time then queued, and its messages stay due and deliverable")
    func legacyStore() throws {
        let dir = NSTemporaryDirectory() + "sx-postponed-legacy-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let store = try SpoolStore(directory: dir, options: SpoolStore.Options(mapSize: 16 << 20, durable: false))
            let log = try LocalLog(store: store)
            #expect(store.legacyPostponedUntil == nil, "a new store has no legacy horizon")
            _ = try PostponeTests.commit(log, Self.enqueue("old", to: "o@gmail.test", at: 1_000)).get()
            _ = try PostponeTests.commit(log, Self.enqueue("due", to: "d@gmail.test", at: 1_000)).get()
            _ = try PostponeTests.commit(log, Self.postpone(["old"], from: 1_000, to: 90_000)).get()
            log.stop()
            store.close()
        }
        try Self.dropPostponedTable(dir)  // what main's HEAD (no such table) leaves on disk
        do {
            let store = try SpoolStore(directory: dir, options: SpoolStore.Options(mapSize: 16 << 20, durable: false))
            let log = try LocalLog(store: store)
            #expect(store.legacyPostponedUntil == 90_000)
            #expect(try store.postponedEntries(destination: "gmail.test", after: nil, limit: 10).isEmpty)
            #expect(try store.dueEntries(now: 90_000, after: nil, limit: 10).map(\.queueID) == ["due", "old"])
            _ = try PostponeTests.commit(log, .pullForward(SpoolCommand.PullForward(at: 2_000, items: [.init(queueID: "old", seen: 90_000)]))).get()
            #expect(try store.message(id: "old")?.nextAttemptAt == 2_000)
            log.stop()
            store.close()
        }
        let store = try SpoolStore(directory: dir, options: SpoolStore.Options(mapSize: 16 << 20, durable: false))
        #expect(store.legacyPostponedUntil == 90_000, "kept across opens")
        store.close()
    }

    /// Deletes the `postponed` table from the store in `dir` (closed): the layout before it existed.
    static func dropPostponedTable(_ dir: String) throws {
        var env: OpaquePointer?
        #expect(mdb_env_create(&env) == 0)
        defer { mdb_env_close(env) }
        #expect(mdb_env_set_maxdbs(env, 32) == 0)
        #expect(mdb_env_set_mapsize(env, 16 << 20) == 0)
        #expect(mdb_env_open(env, dir, UInt32(MDB_NOTLS), 0o600) == 0)
        var txn: OpaquePointer?
        #expect(mdb_txn_begin(env, nil, 0, &txn) == 0)
        var dbi: MDB_dbi = 0
        #expect(mdb_dbi_open(txn, "postponed", 0, &dbi) == 0)
        #expect(mdb_drop(txn, dbi, 1) == 0)
        #expect(mdb_txn_commit(txn) == 0)
    }
}
