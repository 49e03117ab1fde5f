/// Stable storage the Raft core reads from. The shell implements it (LMDB in production,
/// `RaftMemoryStorage` in tests) and writes to it while handling a `Raft.Ready`; Raft itself only
/// reads. Calls happen on the thread driving the `Raft` instance and must not block for long.
///
/// Index conventions: the storage holds a snapshot covering everything up to `snapshot().index`
/// and the entries `firstIndex ... lastIndex`, where `firstIndex <= snapshot index + 1` (a tail of
/// entries before the snapshot may be kept for slow followers). An empty log has
/// `firstIndex == lastIndex + 1`. On restart Raft treats the snapshot index as applied (the
/// application reloads the snapshot) unless `Raft.Config.applied` says otherwise.
public protocol RaftStorage: AnyObject {
    /// Persisted hard state and membership, read once when a `Raft` is created.
    func initialState() -> (hardState: Raft.HardState, confState: Raft.ConfState)
    /// Entries in [lo, hi), stopping once `maxBytes` is exceeded but always returning at least one.
    /// Throws `.compacted` if lo < firstIndex, `.unavailable` if hi > lastIndex + 1.
    func entries(from lo: UInt64, to hi: UInt64, maxBytes: Int) throws(Raft.Error) -> [Raft.Entry]
    /// Term of the entry at `index`; valid for `firstIndex - 1 ... lastIndex` (the snapshot index
    /// yields the snapshot term). Throws `.compacted` / `.unavailable` outside.
    func term(at index: UInt64) throws(Raft.Error) -> UInt64
    /// Index of the first entry still held (snapshot index + 1).
    var firstIndex: UInt64 { get }
    /// Index of the last entry held (the snapshot index when no entries follow it).
    var lastIndex: UInt64 { get }
    /// The most recent snapshot.
    func snapshot() throws(Raft.Error) -> Raft.Snapshot
}
