extension Raft {
    /// The log as Raft sees it: stable storage plus the unstable tail, with commit and applied marks.
    struct Log {
        let storage: any RaftStorage
        var unstable: Unstable
        var committed: UInt64
        var applied: UInt64
        let maxCommittedSize: Int

        init(storage: any RaftStorage, maxCommittedSize: Int) {
            self.storage = storage
            let first = storage.firstIndex
            let last = storage.lastIndex
            unstable = Unstable(offset: last + 1)
            // The application reloads its latest snapshot on restart, so that is what is applied.
            let snapIndex = (try? storage.snapshot().index) ?? 0
            committed = Swift.max(first - 1, snapIndex)
            applied = committed
            self.maxCommittedSize = maxCommittedSize
        }

        var firstIndex: UInt64 { unstable.maybeFirstIndex ?? storage.firstIndex }
        var lastIndex: UInt64 { unstable.maybeLastIndex ?? storage.lastIndex }
        var lastTerm: UInt64 { term(lastIndex) ?? 0 }

        /// Term at `i`, nil when compacted or beyond the end.
        func term(_ i: UInt64) -> UInt64? {
            let dummy = firstIndex - 1
            if i < dummy || i > lastIndex { return nil }
            if let t = unstable.maybeTerm(i) { return t }
            return try? storage.term(at: i)
        }

        func matchTerm(_ i: UInt64, _ t: UInt64) -> Bool { term(i) == t }

        func isUpToDate(lastIndex li: UInt64, term t: UInt64) -> Bool {
            let lt = lastTerm
            return t > lt || (t == lt && li >= lastIndex)
        }

        /// Index of the first entry that conflicts with (or is missing from) our log, 0 if none.
        func findConflict(_ ents: [Entry]) -> UInt64 {
            for e in ents where !matchTerm(e.index, e.term) { return e.index }
            return 0
        }

        /// Largest index <= `index` whose term is <= `term` (or that we cannot look up).
        func findConflictByTerm(index: UInt64, term t: UInt64) -> UInt64 {
            var i = index
            while i > 0 {
                guard let ourTerm = term(i) else { return i }
                if ourTerm <= t { return i }
                i -= 1
            }
            return 0
        }

        /// Follower append: returns the last new index on success, nil if (index, logTerm) does not match.
        mutating func maybeAppend(index: UInt64, logTerm: UInt64, commit: UInt64, entries: [Entry]) -> UInt64? {
            guard matchTerm(index, logTerm) else { return nil }
            let lastNew = index + UInt64(entries.count)
            let ci = findConflict(entries)
            if ci != 0 {
                precondition(ci > committed, "entry \(ci) conflicts with committed entry (committed \(committed))")
                append(entries[Int(ci - index - 1)...])
            }
            commitTo(Swift.min(commit, lastNew))
            return lastNew
        }

        @discardableResult
        mutating func append(_ ents: ArraySlice<Entry>) -> UInt64 {
            guard let first = ents.first else { return lastIndex }
            precondition(first.index > committed, "appending at \(first.index) below commit \(committed)")
            unstable.truncateAndAppend(ents)
            return lastIndex
        }

        mutating func commitTo(_ c: UInt64) {
            if committed < c {
                precondition(c <= lastIndex, "commit \(c) beyond last index \(lastIndex)")
                committed = c
            }
        }

        mutating func maybeCommit(index: UInt64, term t: UInt64) -> Bool {
            if index > committed && term(index) == t {
                commitTo(index)
                return true
            }
            return false
        }

        /// Entries in [lo, hi) limited by `maxBytes` (at least one); nil if lo was compacted.
        func slice(_ lo: UInt64, _ hi: UInt64, maxBytes: Int) -> [Entry]? {
            if lo >= hi { return [] }
            if lo < firstIndex { return nil }
            precondition(hi <= lastIndex + 1, "slice [\(lo), \(hi)) beyond last \(lastIndex)")
            var out: [Entry] = []
            let uOff = unstable.offset
            if lo < uOff {
                let stored: [Entry]
                do {
                    stored = try storage.entries(from: lo, to: Swift.min(hi, uOff), maxBytes: maxBytes)
                } catch {
                    if error.code == .compacted { return nil }
                    preconditionFailure("storage entries [\(lo), \(Swift.min(hi, uOff))): \(error)")
                }
                if UInt64(stored.count) < Swift.min(hi, uOff) - lo { return stored }
                out = stored
            }
            if hi > uOff {
                var size = out.reduce(0) { $0 + $1.byteSize }
                for e in unstable.slice(Swift.max(lo, uOff), hi) {
                    size += e.byteSize
                    if !out.isEmpty && size > maxBytes { break }
                    out.append(e)
                }
            }
            return out
        }

        /// Entries from `i` to the end within `maxBytes`; nil if `i` was compacted.
        func entries(from i: UInt64, maxBytes: Int) -> [Entry]? {
            if i > lastIndex { return [] }
            return slice(i, lastIndex + 1, maxBytes: maxBytes)
        }

        var hasNextCommittedEntries: Bool {
            committed + 1 > Swift.max(applied + 1, firstIndex)
        }

        func nextCommittedEntries() -> [Entry] {
            let off = Swift.max(applied + 1, firstIndex)
            guard committed + 1 > off else { return [] }
            return slice(off, committed + 1, maxBytes: maxCommittedSize) ?? []
        }

        func snapshot() -> Snapshot? {
            if let s = unstable.snapshot { return s }
            return try? storage.snapshot()
        }

        mutating func restore(_ s: Snapshot) {
            committed = s.index
            unstable.restore(s)
        }

        mutating func appliedTo(_ i: UInt64) {
            if i > applied { applied = i }
        }
    }
}
