import CLMDB

/// Entries kept below the compaction point for the message bodies in them.
///
/// With bodies written once (`RaftLog.Options.bodiesInLog`), the spool of a node keeps, for a
/// message enqueued through the log, a reference to the body inside that entry instead of a
/// copy, and pins the entry (`SpoolStore+LogBodies.swift`). `compact(to:keeping:)` leaves pinned
/// entries in the `entries` table under their index; they are no longer part of the Raft log
/// (`firstIndex`, `term(at:)`, `entries(from:to:)` never see them) and only counted in memory
/// (`retainedEntries`): opening does not walk them (at 10⁶ queued messages that walk made a node's
/// start grow with its queue, and the list held 8 bytes per queued message).
/// `sweepRetained` deletes those whose message has left the queue. Driving thread only.
extension RaftLogStorage {
    /// Up to `max` indexes of entries stored below the compaction point, ascending, from `from`
    /// on. One read transaction over keys only.
    func retainedIndexes(from: UInt64, max: Int) throws(ClusterError) -> [UInt64] {
        let first = snapIndex + 1
        guard from < first else { return [] }
        return try read { txn throws(ClusterError) in
            var out: [UInt64] = []
            try txn.forEach(dbEntries, from: Self.key(from)) { key, _ throws(ClusterError) in
                let index = Self.index(key)
                guard index < first, out.count < max else { return false }
                out.append(index)
                return true
            }
            return out
        }
    }

    /// Number of entries kept below the compaction point for message bodies. In memory.
    public var retainedCount: Int { retainedEntries }

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
        guard retainedEntries > 0 else { return 0 }
        var candidates = try retainedIndexes(from: sweepFrom, max: max)
        if candidates.isEmpty && sweepFrom > 0 {
            sweepFrom = 0  // past the last one: start over
            candidates = try retainedIndexes(from: 0, max: max)
        }
        guard let last = candidates.last else { return 0 }
        let pinned = try stillPinned(candidates)
        let drop = candidates.filter { !pinned.contains($0) }
        if !drop.isEmpty {
            try write { txn throws(ClusterError) in
                for i in drop { try txn.delete(dbEntries, Self.key(i)) }
            }
            retainedEntries = Swift.max(0, retainedEntries - drop.count)
        }
        sweepFrom = candidates.count < max ? 0 : last + 1
        return drop.count
    }
}
