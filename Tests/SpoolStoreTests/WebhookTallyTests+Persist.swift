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
        try store.withOpenEnv {
            var txnp: OpaquePointer?
            #expect(mdb_txn_begin(store.env, nil, 0, &txnp) == 0)
            let txn = LMDBTransaction(txn: txnp!)
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
            #expect(mdb_txn_commit(txnp) == 0)
        }
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
            s.close()
        }
    }
}
