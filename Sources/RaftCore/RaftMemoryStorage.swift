/// In-memory `RaftStorage` for tests and simulations (and a reference for the LMDB shell).
/// Not thread-safe: use from the thread driving the `Raft` instance. Nothing blocks.
public final class RaftMemoryStorage: RaftStorage {
    /// Persisted hard state.
    public private(set) var hardState = Raft.HardState()
    /// Persisted membership (last applied).
    public private(set) var confState: Raft.ConfState
    private var snap: Raft.Snapshot
    /// entries[0] is a dummy at the snapshot index/term.
    private var ents: [Raft.Entry]

    /// Creates an empty storage for a node of a new cluster with the given membership. Any caller.
    public init(confState: Raft.ConfState = Raft.ConfState()) {
        self.confState = confState
        self.snap = Raft.Snapshot(index: 0, term: 0, confState: confState)
        self.ents = [Raft.Entry(term: 0, index: 0)]
    }

    /// Deep copy (used by simulations to keep a durable image). Any caller.
    public func copy() -> RaftMemoryStorage {
        let c = RaftMemoryStorage(confState: confState)
        c.hardState = hardState
        c.snap = snap
        c.ents = ents
        return c
    }

    private var offset: UInt64 { ents[0].index }

    /// `RaftStorage`: persisted hard state and membership. Does not block.
    public func initialState() -> (hardState: Raft.HardState, confState: Raft.ConfState) {
        (hardState, confState)
    }

    /// `RaftStorage`: entries in [lo, hi) within `maxBytes` (at least one). Does not block.
    public func entries(from lo: UInt64, to hi: UInt64, maxBytes: Int) throws(Raft.Error) -> [Raft.Entry] {
        if lo <= offset { throw Raft.Error(.compacted, "entry \(lo) compacted (snapshot at \(offset))") }
        if hi > lastIndex + 1 { throw Raft.Error(.unavailable, "entries up to \(hi - 1) beyond last \(lastIndex)") }
        if lo >= hi { return [] }
        let start = Int(lo - offset)
        let end = Int(hi - offset)
        var size = 0
        var i = start
        while i < end {
            size += ents[i].byteSize
            if i > start && size > maxBytes { break }
            i += 1
        }
        return Array(ents[start..<i])
    }

    /// `RaftStorage`: term of the entry at `index`. Does not block.
    public func term(at index: UInt64) throws(Raft.Error) -> UInt64 {
        if index < offset { throw Raft.Error(.compacted, "term of \(index) compacted") }
        if index > lastIndex { throw Raft.Error(.unavailable, "term of \(index) beyond last \(lastIndex)") }
        return ents[Int(index - offset)].term
    }

    /// `RaftStorage`: first index still held.
    public var firstIndex: UInt64 { offset + 1 }
    /// `RaftStorage`: last index held.
    public var lastIndex: UInt64 { offset + UInt64(ents.count - 1) }

    /// `RaftStorage`: the latest snapshot. Does not block.
    public func snapshot() throws(Raft.Error) -> Raft.Snapshot { snap }

    /// Records the hard state from a `Ready`. Any caller.
    public func setHardState(_ hs: Raft.HardState) { hardState = hs }

    /// Records the membership returned by `Raft.applyConfChange`. Any caller.
    public func setConfState(_ cs: Raft.ConfState) { confState = cs }

    /// Appends entries from a `Ready`, replacing any stored entries at the same or later indexes.
    /// Entries already covered by the snapshot are skipped. Any caller.
    public func append(_ entries: [Raft.Entry]) {
        guard let first = entries.first else { return }
        let firstKept = firstIndex
        if first.index + UInt64(entries.count) - 1 < firstKept { return }
        let slice: ArraySlice<Raft.Entry> = first.index < firstKept
            ? entries[Int(firstKept - first.index)...] : entries[...]
        let start = slice.first!.index
        precondition(start <= lastIndex + 1, "gap appending \(start) after \(lastIndex)")
        ents.removeSubrange(Int(start - offset)...)
        ents.append(contentsOf: slice)
    }

    /// Installs a snapshot received from the leader (from a `Ready`), discarding the whole log.
    /// Throws `.snapshotOutOfDate` if it is older than the current one. Any caller.
    public func applySnapshot(_ s: Raft.Snapshot) throws(Raft.Error) {
        if s.index < snap.index {
            throw Raft.Error(.snapshotOutOfDate, "snapshot \(s.index) older than \(snap.index)")
        }
        snap = s
        confState = s.confState
        ents = [Raft.Entry(term: s.term, index: s.index)]
        if hardState.commit < s.index { hardState.commit = s.index }
    }

    /// Records an application snapshot at `index` (which must be applied, hence stored). The log is
    /// kept; call `compact(to:)` to drop entries (keeping a tail helps slow followers). Any caller.
    public func createSnapshot(index: UInt64, confState: Raft.ConfState, data: [UInt8]) throws(Raft.Error) {
        if index <= snap.index { throw Raft.Error(.snapshotOutOfDate, "snapshot \(index) not after \(snap.index)") }
        let t = try term(at: index)
        snap = Raft.Snapshot(index: index, term: t, confState: confState, data: data)
    }

    /// Discards entries up to `index`, which must be covered by the snapshot. Any caller.
    public func compact(to index: UInt64) {
        guard index > offset, index <= lastIndex, index <= snap.index else { return }
        ents.removeFirst(Int(index - offset))
        ents[0].data = []
        ents[0].kind = .normal
    }
}
