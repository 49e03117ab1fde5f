import CLMDB
import Dispatch
import Foundation
import Registry
import Testing
@testable import SpoolStore

extension WebhookTallyTests {
    /// Writes `count` calls of `endpoint` straight into the registry table, as a build that keeps
    /// no persisted counts would: the tally is not told. Every `failedEvery`-th finished call is
    /// failed (0: none). `advanceApplied`: the transaction also records the next applied position,
    /// as every commit of such a build that writes calls does. Nothing else may write meanwhile.
    static func writeCallsBypassingTally(_ store: SpoolStore, endpoint: String, count: Int, firstSequence: UInt64,
                                         done: Bool, failedEvery: Int = 0, advanceApplied: Bool) throws {
        try rawWrite(store) { txn in
            for i in 0..<count {
                let seq = firstSequence + UInt64(i)
                var call = WebhookCall(endpoint: endpoint, sequence: seq, webhookID: "wh_\(seq)", eventType: "delivered",
                                       createdAt: t0, payload: "{}")
                if done { call.status = failedEvery > 0 && i % failedEvery == 0 ? .failed : .delivered }
                let key = done ? RegistryKeys.webhookDone(endpoint, seq) : RegistryKeys.webhookPending(endpoint, seq)
                try txn.put(store.dbRegistry, Array(key.utf8), RegistryRecord.webhookCall(call).encoded())
            }
            if advanceApplied {
                var (index, term): (UInt64, UInt64) = (0, 0)
                if let v = try txn.get(store.dbMeta, SpoolKeys.applied) {
                    var r = BinaryReader(v, what: "applied position")
                    (index, term) = (try r.u64(), try r.u64())
                }
                var w = BinaryWriter(capacity: 16)
                w.u64(index + 1)
                w.u64(term)
                try txn.put(store.dbMeta, SpoolKeys.applied, w.bytes)
            }
        }
    }

    /// Runs `body` in a write transaction of `store` that no spool code sees (as another build's).
    static func rawWrite(_ store: SpoolStore, _ body: (LMDBTransaction) throws -> Void) throws {
        try store.withOpenEnv {
            var txnp: OpaquePointer?
            #expect(mdb_txn_begin(store.env, nil, 0, &txnp) == 0)
            do {
                try body(LMDBTransaction(txn: txnp!))
            } catch {
                mdb_txn_abort(txnp)
                throw error
            }
            #expect(mdb_txn_commit(txnp) == 0)
        }
    }

    /// A store in `dir` with endpoints ep_a and ep_b and three pending calls each, closed.
    static func storeWithCalls(_ dir: TempDirectory) async throws {
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        for id in ["ep_a", "ep_b"] {
            _ = try await log.proposeAndWait(.registry(.webhook(.create(WebhookDispatchStoreTests.endpoint(id))))).get()
        }
        for i in 0..<3 { _ = try await log.proposeAndWait(makeEnqueue("Q\(i)", at: t0)).get() }
        log.stop()
        store.close()
    }

    @Test("reopening loads the persisted counts without walking the calls, also after more commits")
    func reopenLoadsWithoutWalking() async throws {
        let dir = TempDirectory()
        try await Self.storeWithCalls(dir)
        var store = try SpoolStore(directory: dir.path)
        #expect(store.webhookTally.recounts == (0, 0))
        var full = try Self.expectMatchesFullCount(store, "reopened")
        #expect(full["ep_a"] == .init(pending: 3) && full["ep_b"] == .init(pending: 3))
        let log = try LocalLog(store: store)
        _ = try await log.proposeAndWait(makeEnqueue("Q9", at: Self.t0)).get()
        _ = try await log.proposeAndWait(.registry(.webhook(.delete(id: "ep_b", at: Self.t0 + 1)))).get()
        log.stop()
        store.close()
        store = try SpoolStore(directory: dir.path)
        defer { store.close() }
        #expect(store.webhookTally.recounts == (0, 0))
        full = try Self.expectMatchesFullCount(store, "reopened after an enqueue and deleting ep_b")
        #expect(full == ["ep_a": .init(pending: 4)])
        #expect(store.webhookTally.counts("ep_b") == .init())
    }

    @Test("calls written by a build without persisted counts (the applied position moved on) are counted by one walk at the next open, and persisted")
    func olderBuildWritesAreRecounted() async throws {
        let dir = TempDirectory()
        try await Self.storeWithCalls(dir)
        var store = try SpoolStore(directory: dir.path)
        // A rollback: the older build stores finished calls of ep_a and pending ones of ep_c.
        try Self.writeCallsBypassingTally(store, endpoint: "ep_a", count: 5, firstSequence: 1000, done: true, failedEvery: 2,
                                          advanceApplied: true)
        try Self.writeCallsBypassingTally(store, endpoint: "ep_c", count: 2, firstSequence: 1, done: false, advanceApplied: true)
        // … and drops every call of ep_b (its persisted count must go too).
        try Self.rawWrite(store) { txn in
            let prefix = Array(RegistryKeys.webhookPendingPrefix("ep_b").utf8)
            var keys: [[UInt8]] = []
            let cursor = try txn.cursor(store.dbRegistry)
            var item = try cursor.seek(atLeast: prefix)
            while let cur = item, cur.key.starts(with: prefix) {
                keys.append(Array(cur.key))
                item = try cursor.get(MDB_NEXT)
            }
            cursor.close()
            #expect(keys.count == 3)
            for k in keys { _ = try txn.delete(store.dbRegistry, k) }
        }
        try Self.writeCallsBypassingTally(store, endpoint: "ep_c", count: 0, firstSequence: 1, done: false,
                                          advanceApplied: true)  // that commit's applied position
        store.close()
        store = try SpoolStore(directory: dir.path)
        #expect(store.webhookTally.recounts == (1, 3 + 5 + 2), "one walk over every call")
        #expect(store.webhookTally.counts("ep_b") == .init())
        var full = try Self.expectMatchesFullCount(store, "after an older build wrote calls")
        #expect(full["ep_a"] == .init(pending: 3, failed: 3, delivered: 2))
        #expect(store.webhookTally.counts("ep_c") == .init(pending: 2))
        store.close()
        store = try SpoolStore(directory: dir.path)
        defer { store.close() }
        #expect(store.webhookTally.recounts == (0, 0), "the walk's counts were persisted")
        full = try Self.expectMatchesFullCount(store, "reopened after the walk")
        #expect(store.webhookTally.counts("ep_c") == .init(pending: 2))
    }

    @Test("a missing or stale marker (or an unreadable count) makes the open walk the calls, whatever the persisted counts say")
    func missingOrStaleMarkerRecounts() async throws {
        let dir = TempDirectory()
        try await Self.storeWithCalls(dir)
        for damage in ["missing", "other position", "other version", "unreadable count"] {
            var store = try SpoolStore(directory: dir.path)
            // Calls the persisted counts do not hold, without moving the applied position.
            try Self.writeCallsBypassingTally(store, endpoint: "ep_b", count: 1, firstSequence: 2000 + UInt64(damage.count),
                                              done: true, advanceApplied: false)
            try Self.rawWrite(store) { txn in
                let marker = Array(try #require(try txn.get(store.dbMeta, SpoolStore.tallyMarkerKey)))
                switch damage {
                case "missing": _ = try txn.delete(store.dbMeta, SpoolStore.tallyMarkerKey)
                case "other position": try txn.put(store.dbMeta, SpoolStore.tallyMarkerKey, marker.dropLast() + [marker.last! &+ 1])
                case "unreadable count": try txn.put(store.dbMeta, SpoolStore.tallyPrefix + Array("ep_a".utf8), [1, 2, 3])
                default: try txn.put(store.dbMeta, SpoolStore.tallyMarkerKey, [marker[0] &+ 1] + marker.dropFirst())
                }
            }
            store.close()
            store = try SpoolStore(directory: dir.path)
            defer { store.close() }
            #expect(store.webhookTally.recounts.walks == 1, "\(damage) marker")
            _ = try Self.expectMatchesFullCount(store, "after a \(damage) marker")
        }
    }

    @Test("events imported in bulk persist the counts of their calls")
    func importedEventsPersistCounts() async throws {
        let dir = TempDirectory()
        try await Self.storeWithCalls(dir)
        var store = try SpoolStore(directory: dir.path)
        let events = (0..<4).map { i in
            Event(id: "", type: .delivered, messageId: "m\(i)", queueId: "I\(i)", tenant: "acme", sender: "a@example.com",
                  recipient: "r@example.org", timestampMillis: Self.t0 + Int64(i))
        }
        try store.importEvents(events, firstIndex: 1_000_000)
        var full = try Self.expectMatchesFullCount(store, "after an import")
        #expect(full["ep_a"] == .init(pending: 7))
        store.close()
        store = try SpoolStore(directory: dir.path)
        defer { store.close() }
        #expect(store.webhookTally.recounts == (0, 0))
        full = try Self.expectMatchesFullCount(store, "reopened after an import")
        #expect(full["ep_a"] == .init(pending: 7))
    }

    @Test("a backup copy (as a snapshot) opens with the counts of the copied calls, without walking them")
    func backupCarriesCounts() async throws {
        let dir = TempDirectory()
        try await Self.storeWithCalls(dir)
        let store = try SpoolStore(directory: dir.path)
        defer { store.close() }
        let copyDir = TempDirectory()
        try store.backup(to: copyDir.path + "/spool")
        let copy = try SpoolStore(directory: copyDir.path + "/spool")
        defer { copy.close() }
        #expect(copy.webhookTally.recounts == (0, 0))
        let full = try Self.expectMatchesFullCount(copy, "backup copy")
        #expect(full["ep_a"] == .init(pending: 3) && full["ep_b"] == .init(pending: 3))
    }

    /// A one-off measurement, not a check: the cost of opening a spool holding
    /// `SENDARIX_TALLY_MEASURE` stored calls (say 1000000), printed. The calls are written as a
    /// build without persisted counts would, so the first open walks them (the cost of every open
    /// before the counts were persisted) and the later ones load the counts. Runs only when set.
    @Test("open time with many stored webhook calls (measurement; set SENDARIX_TALLY_MEASURE)",
          .enabled(if: ProcessInfo.processInfo.environment["SENDARIX_TALLY_MEASURE"] != nil))
    func measureOpenWithManyCalls() async throws {
        let n = Int(ProcessInfo.processInfo.environment["SENDARIX_TALLY_MEASURE"] ?? "") ?? 1_000_000
        let dir = TempDirectory()
        var store: SpoolStore? = try SpoolStore(directory: dir.path, options: .init(mapSize: 8 << 30, durable: false))
        let log = try LocalLog(store: store!)
        _ = try await log.proposeAndWait(.registry(.webhook(.create(WebhookDispatchStoreTests.endpoint("ep_a"))))).get()
        log.stop()
        var written = 0
        while written < n {
            let k = min(100_000, n - written)
            try Self.writeCallsBypassingTally(store!, endpoint: "ep_a", count: k, firstSequence: UInt64(written), done: true,
                                              failedEvery: 10, advanceApplied: true)
            written += k
        }
        store!.close()
        store = nil
        for round in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            let s = try SpoolStore(directory: dir.path, options: .init(mapSize: 8 << 30, durable: false))
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            print("tally-measure: open #\(round) with \(n) stored calls: \(seconds) s (\(seconds / Double(n) * 1e9) ns per call)",
                  "counts \(s.webhookTally.counts("ep_a")), walks \(s.webhookTally.recounts)")
            // The first open walks (a build without persisted counts wrote them), later ones load.
            #expect(s.webhookTally.recounts.walks == (round == 0 ? 1 : 0))
            let counts = s.webhookTally.counts("ep_a")
            #expect(counts.pending + counts.failed + counts.delivered == n)
            s.close()
        }
    }
}
