extension Raft {
    /// Entries and snapshot accepted by Raft but not yet persisted by the shell (the volatile part of
    /// the log). `entries[i]` has index `offset + i`.
    struct Unstable {
        var snapshot: Snapshot?
        var entries: [Entry] = []
        var offset: UInt64

        init(offset: UInt64) { self.offset = offset }

        var maybeFirstIndex: UInt64? { snapshot.map { $0.index + 1 } }

        var maybeLastIndex: UInt64? {
            if !entries.isEmpty { return offset + UInt64(entries.count) - 1 }
            return snapshot?.index
        }

        func maybeTerm(_ i: UInt64) -> UInt64? {
            if i < offset {
                if let s = snapshot, s.index == i { return s.term }
                return nil
            }
            guard let last = maybeLastIndex, i <= last else { return nil }
            return entries[Int(i - offset)].term
        }

        mutating func stableTo(index: UInt64, term: UInt64) {
            guard let t = maybeTerm(index), t == term, index >= offset else { return }
            entries.removeFirst(Int(index + 1 - offset))
            offset = index + 1
        }

        mutating func stableSnapTo(_ index: UInt64) {
            if let s = snapshot, s.index == index { snapshot = nil }
        }

        mutating func restore(_ s: Snapshot) {
            offset = s.index + 1
            entries = []
            snapshot = s
        }

        mutating func truncateAndAppend(_ ents: ArraySlice<Entry>) {
            guard let first = ents.first else { return }
            let after = first.index
            if after == offset + UInt64(entries.count) {
                entries.append(contentsOf: ents)
            } else if after <= offset {
                offset = after
                entries = Array(ents)
            } else {
                entries.removeSubrange(Int(after - offset)...)
                entries.append(contentsOf: ents)
            }
        }

        /// Entries in [lo, hi); caller guarantees offset <= lo <= hi <= last + 1.
        func slice(_ lo: UInt64, _ hi: UInt64) -> ArraySlice<Entry> {
            entries[Int(lo - offset)..<Int(hi - offset)]
        }
    }
}
