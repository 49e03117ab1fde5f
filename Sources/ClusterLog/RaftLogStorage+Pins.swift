import CLMDB

/// Entries kept below the compaction point for the message bodies in them.
///
/// With bodies written once (`RaftLog.Options.bodiesInLog`), the spool of a node keeps, for a
/// message enqueued through the log, a reference to the body inside that entry instead of a
/// copy, and pins the entry (`SpoolStore+LogBodies.swift`). `compact(to:keeping:)` leaves pinned
/// entries in the `entries` table under their index; they are no longer part of the Raft log
/// (`firstIndex`, `term(at:)`, `entries(from:to:)` never see them) and are listed in `retained`.
/// `sweepRetained` deletes those whose message has left the queue. Driving thread only.
extension RaftLogStorage {
    /// Indexes of the entries stored below the compaction point, ascending (at open).
    func loadRetained(_ txn: Txn) throws(ClusterError) -> [UInt64] {
        var out: [UInt64] = []
        let first = snapIndex + 1
        try txn.forEach(dbEntries) { key, _ throws(ClusterError) in
            let index = Self.index(key)
            guard index < first else { return false }
            out.append(index)
            return true
        }
        return out
    }

    /// Number of entries kept below the compaction point for message bodies.
    public var retainedCount: Int { retained.count }

    /// Whether entry `index` is stored, in the log or retained (tests). One read transaction.
    public func holdsEntry(_ index: UInt64) throws(ClusterError) -> Bool {
        try read { txn throws(ClusterError) in try txn.get(dbEntries, Self.key(index)) != nil }
    }

    /// Checks up to `max` retained entries, starting after the one checked last (round robin),
    /// against `stillPinned` (which of them queued messages still reference) and deletes the
    /// others in one synced write. Returns how many were deleted. Blocks.
    @discardableResult
    public func sweepRetained(max: Int = 65_536,
                              stillPinned: ([UInt64]) throws(ClusterError) -> Set<UInt64>) throws(ClusterError) -> Int {
        guard !retained.isEmpty else { return 0 }
        let start = sweepCursor < retained.count ? sweepCursor : 0
        let end = Swift.min(retained.count, start + max)
        let candidates = Array(retained[start..<end])
        let pinned = try stillPinned(candidates)
        let drop = candidates.filter { !pinned.contains($0) }
        if !drop.isEmpty {
            try write { txn throws(ClusterError) in
                for i in drop { try txn.delete(dbEntries, Self.key(i)) }
            }
            let gone = Set(drop)
            retained.removeAll { gone.contains($0) }
        }
        sweepCursor = start + candidates.count - drop.count
        return drop.count
    }
}
