import CLMDB
import Glibc

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

    /// Appends one count to `out` in the pending-value format, `[key len u32][count key][delta u64 = 1]`,
    /// with the count key `[tag][resolution][bucket u64][dimension][len u16][value][type]` of
    /// ``EventStats``: `value` ASCII-lowercased and cut at ``SpoolKeys/maxIndexedField`` bytes.
    /// Written in place into bytes appended at once (no key array, no append per field). Pure.
    static func appendCount<C: Collection<UInt8>>(_ resolution: UInt8, bucket: Int64, _ dim: EventStats.Dimension,
                                                  _ value: C, _ type: Event.Kind, to out: inout [UInt8]) {
        let n = min(value.count, SpoolKeys.maxIndexedField)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: 26 + n))
        out.withUnsafeMutableBytes { raw in
            let e = UnsafeMutableRawBufferPointer(rebasing: raw[start...])
            e.storeBytes(of: UInt32(14 + n).bigEndian, toByteOffset: 0, as: UInt32.self)
            e[4] = EventStats.countTag
            e[5] = resolution
            e.storeBytes(of: SpoolKeys.biased(bucket).bigEndian, toByteOffset: 6, as: UInt64.self)
            e[14] = dim.code
            e[15] = UInt8(truncatingIfNeeded: n >> 8)
            e[16] = UInt8(truncatingIfNeeded: n)
            let field = UnsafeMutableRawBufferPointer(rebasing: e[17..<(17 + n)])
            if value.withContiguousStorageIfAvailable({ field.copyMemory(from: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: $0.prefix(n)))) }) == nil {
                for (i, b) in value.prefix(n).enumerated() { field[i] = b }
            }
            for i in 0..<n where field[i] >= 0x41 && field[i] <= 0x5A { field[i] |= 0x20 }
            e[17 + n] = type.code
            e.storeBytes(of: UInt64(1).bigEndian, toByteOffset: 18 + n, as: UInt64.self)
        }
    }

    /// Appends one delivery-latency count (key ``EventStats/latencyKey(bucket:index:)``) to
    /// `out` in the pending-value format. Pure.
    static func appendLatencyCount(bucket: Int64, index: UInt8, to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: 22))
        out.withUnsafeMutableBytes { raw in
            let e = UnsafeMutableRawBufferPointer(rebasing: raw[start...])
            e.storeBytes(of: UInt32(10).bigEndian, toByteOffset: 0, as: UInt32.self)
            e[4] = EventStats.latencyTag
            e.storeBytes(of: SpoolKeys.biased(bucket).bigEndian, toByteOffset: 5, as: UInt64.self)
            e[13] = index
            e.storeBytes(of: UInt64(1).bigEndian, toByteOffset: 14, as: UInt64.self)
        }
    }

    /// Adds 1 to each count of `counts` (entries made by ``appendCount(_:bucket:_:_:_:to:)``): to the
    /// pending deltas when deferring, else to the stored counts. The pending value is updated in
    /// one copy of its bytes (a known key's delta in place, a new key appended), so it stays
    /// byte for byte what decoding, bumping and re-encoding it gave.
    func addCounts(_ counts: [UInt8], in txn: LMDBTransaction) throws {
        guard options.deferEventCounts else {
            try counts.withUnsafeBytes { c in
                try Self.forEachCount(in: c) { key, _ in try bumpStoredCount(key, by: 1, in: txn) }
            }
            return
        }
        var pending: [UInt8] = []
        let stored = try txn.get(dbMeta, Self.pendingStatsKey)
        pending.reserveCapacity((stored?.count ?? 0) + counts.count)
        if let stored {
            try Self.forEachCount(in: stored) { _, _ in }  // throws for a malformed value, as decoding it did
            pending.append(contentsOf: stored)
        }
        try counts.withUnsafeBytes { c in
            try Self.forEachCount(in: c) { key, _ in
                if let at = try pending.withUnsafeBytes({ try Self.deltaOffset(of: key, in: $0) }) {
                    var n: UInt64 = 0
                    for i in at..<(at + 8) { n = n << 8 | UInt64(pending[i]) }
                    n += 1
                    for i in 0..<8 { pending[at + i] = UInt8(truncatingIfNeeded: n >> (56 - 8 * i)) }
                } else {
                    var n = UInt32(key.count).bigEndian
                    withUnsafeBytes(of: &n) { pending.append(contentsOf: $0) }
                    pending.append(contentsOf: key)
                    SpoolKeys.appendU64(1, to: &pending)
                }
            }
        }
        if pending.count > Self.pendingStatsLimit {  // the size is the sum of 12 + key length
            try bumpStoredCounts(pending, in: txn)
            try txn.delete(dbMeta, Self.pendingStatsKey)
            return
        }
        try txn.put(dbMeta, Self.pendingStatsKey, pending)
    }

    /// Adds the pending deltas to the stored counts and clears them.
    func flushPendingStats(in txn: LMDBTransaction) throws {
        guard let stored = try txn.get(dbMeta, Self.pendingStatsKey), stored.count > 0 else { return }
        try bumpStoredCounts(Array(stored), in: txn)  // a copy: the writes move the map's pages
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

    /// Calls `body` with each count key of `entries` (pending-value format) and the offset of its
    /// delta; throws `.corrupt` for a truncated entry.
    static func forEachCount(in entries: UnsafeRawBufferPointer,
                             _ body: (_ key: UnsafeRawBufferPointer, _ deltaOffset: Int) throws -> Void) throws {
        var r = BinaryReader(entries, what: "pending event counts")
        while !r.isAtEnd {
            let key = try r.run()
            let deltaOffset = r.offset
            _ = try r.u64()
            try body(key, deltaOffset)
        }
    }

    /// The offset of the delta of the first entry of `entries` (pending-value format) whose key is `key`.
    /// Reads the lengths in place (it runs for every count of every event, over up to ~60 entries);
    /// throws where reading the entries with a ``BinaryReader`` throws.
    private static func deltaOffset(of key: UnsafeRawBufferPointer, in entries: UnsafeRawBufferPointer) throws -> Int? {
        let end = entries.count
        var at = 0
        while at < end {
            guard end - at >= 4 else { throw StoreError.corrupt("pending event counts") }
            let n = Int(UInt32(bigEndian: entries.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            at += 4
            guard end - at >= n else { throw StoreError.corrupt("pending event counts") }
            if n == key.count, n == 0 || memcmp(entries.baseAddress! + at, key.baseAddress!, n) == 0 { return at + n }
            at += n
            guard end - at >= 8 else { throw StoreError.corrupt("pending event counts") }
            at += 8
        }
        return nil
    }

    /// Adds each delta of `entries` (pending-value format) to its stored count, in order.
    private func bumpStoredCounts(_ entries: [UInt8], in txn: LMDBTransaction) throws {
        try entries.withUnsafeBytes { e in
            try Self.forEachCount(in: e) { key, at in
                var r = BinaryReader(UnsafeRawBufferPointer(rebasing: e[at..<(at + 8)]), what: "pending event counts")
                try bumpStoredCount(key, by: try r.u64(), in: txn)
            }
        }
    }

    /// Adds `delta` to the stored count under `key`.
    private func bumpStoredCount(_ key: UnsafeRawBufferPointer, by delta: UInt64, in txn: LMDBTransaction) throws {
        var n: UInt64 = 0
        if let v = try txn.get(dbEventIndex, key: key), v.count == 8 {
            var r = BinaryReader(v, what: "event count")
            n = try r.u64()
        }
        try withUnsafeBytes(of: (n + delta).bigEndian) { try txn.put(dbEventIndex, key: key, $0) }
    }
}
