import CLMDB

/// Deferred event counts.
///
/// Every stored event bumps 4–8 count keys in the `event_index` table (per minute and hour, per
/// tenant, domain, source IP, …; see ``SpoolStore/recordEventStats(_:message:in:)``). Bumping
/// them in place copied one or two more `event_index` leaves in every commit. With
/// ``Options/deferEventCounts`` the increments are summed instead into one small value under
/// the meta key `statsPending` (`[key len u32][count key][delta u64]…`), which lives in the
/// meta leaf that every commit rewrites anyway. The deltas are added to the stored counts
/// (*flushed*) when the value would outgrow ``pendingStatsLimit``, with each batch of the
/// deferred search index, and before counts are pruned.
///
/// Invariant: a count is its stored value plus its pending delta; both are written in the same
/// transaction as the event, so a crash keeps them consistent, and readers add the deltas in the
/// same read transaction (``pendingStats(in:)``).
extension SpoolStore {
    /// Meta key of the pending count deltas.
    static let pendingStatsKey: [UInt8] = Array("statsPending".utf8)
    /// Largest pending value, bytes: well under LMDB's in-leaf limit (about 2 KB for 4 KB pages),
    /// so it never becomes an overflow page that would be copied whole in every commit.
    static let pendingStatsLimit = 1536

    /// Adds 1 to each count key: to the pending deltas when deferring, else to the stored counts.
    func addCounts(_ keys: [[UInt8]], in txn: LMDBTransaction) throws {
        guard options.deferEventCounts else {
            for key in keys { try bumpStoredCount(key, by: 1, in: txn) }
            return
        }
        var pending = try pendingStats(in: txn)
        for key in keys {
            if let i = pending.firstIndex(where: { $0.key == key }) {
                pending[i].delta += 1
            } else {
                pending.append((key, 1))
            }
        }
        let size = pending.reduce(0) { $0 + 12 + $1.key.count }
        if size > Self.pendingStatsLimit {
            for (key, delta) in pending { try bumpStoredCount(key, by: delta, in: txn) }
            try txn.delete(dbMeta, Self.pendingStatsKey)
            return
        }
        var w = BinaryWriter(capacity: size)
        for (key, delta) in pending {
            w.blob(key)
            w.u64(delta)
        }
        try txn.put(dbMeta, Self.pendingStatsKey, w.bytes)
    }

    /// Adds the pending deltas to the stored counts and clears them.
    func flushPendingStats(in txn: LMDBTransaction) throws {
        let pending = try pendingStats(in: txn)
        guard !pending.isEmpty else { return }
        for (key, delta) in pending { try bumpStoredCount(key, by: delta, in: txn) }
        try txn.delete(dbMeta, Self.pendingStatsKey)
    }

    /// The pending count deltas (count key, delta), in the order they were first counted. Any transaction.
    func pendingStats(in txn: LMDBTransaction) throws -> [(key: [UInt8], delta: UInt64)] {
        guard let v = try txn.get(dbMeta, Self.pendingStatsKey) else { return [] }
        var r = BinaryReader(v, what: "pending event counts")
        var out: [(key: [UInt8], delta: UInt64)] = []
        while !r.isAtEnd {
            let key = try r.blob()
            out.append((key, try r.u64()))
        }
        return out
    }

    /// Adds `delta` to the stored count under `key`.
    private func bumpStoredCount(_ key: [UInt8], by delta: UInt64, in txn: LMDBTransaction) throws {
        var n: UInt64 = 0
        if let v = try txn.get(dbEventIndex, key), v.count == 8 {
            var r = BinaryReader(v, what: "event count")
            n = try r.u64()
        }
        var w = BinaryWriter(capacity: 8)
        w.u64(n + delta)
        try txn.put(dbEventIndex, key, w.bytes)
    }
}
