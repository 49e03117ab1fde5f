import CLMDB
import Foundation
import RaftCore

/// LMDB-backed `RaftStorage`: the raft log, hard state, membership and compaction point of one
/// node, in its own LMDB environment (`dataDir/raft`, separate from the spool).
///
/// Layout: table `entries` maps an 8-byte big-endian index to `term (8 LE) | kind (1) | data`;
/// table `meta` holds `hard` (term, vote, commit), `conf` (membership) and `snap` (index and term of
/// the compaction point, which is also the `Raft.Snapshot` index; its data is the spool itself).
/// Every write is fsynced (never `MDB_NOSYNC`); the stored commit index may lag, as a change of
/// the commit index alone is not written (see `persist`, `raiseCommit`).
/// Terms of all held entries and a bounded tail of recent entries are cached in memory so that
/// Raft's frequent `term(at:)` and the apply path do not touch LMDB.
///
/// Threading: every method, reads included, must be called on the one thread that drives the
/// `Raft` instance (the `RaftLog` loop): LMDB write transactions are bound to their OS thread and
/// the caches are not locked. Writes block for the fsync; reads are in memory or one short read
/// transaction.
public final class RaftLogStorage: RaftStorage {
    let env: OpaquePointer
    let dbEntries: MDB_dbi
    let dbMeta: MDB_dbi
    /// The directory of the LMDB environment.
    public let directory: String
    /// Reads message bodies kept in entries, from any thread; owns closing `env`.
    public let bodyReader: LogBodyReader
    /// How many entries are stored at or below the compaction point because a queued message's
    /// body is in them (see `RaftLogStorage+Pins.swift`); the entries themselves are not listed in
    /// memory (at open that was a walk over every queued message's entry).
    var retainedEntries = 0
    /// The index the next `sweepRetained` starts from (round robin over the retained entries).
    var sweepFrom: UInt64 = 0

    private(set) var hard = Raft.HardState()
    private(set) var conf: Raft.ConfState
    /// Compaction point: every entry up to `snapIndex` is applied and gone from the log.
    private(set) var snapIndex: UInt64 = 0
    private(set) var snapTerm: UInt64 = 0
    /// The node refuses votes until caught up (persisted; see `RaftLogStorage+EmptyStart`).
    public internal(set) var catchingUp = false
    /// Nothing was stored when this storage was opened (no hard state, snapshot or entry).
    public private(set) var openedEmpty = false
    /// Members added at runtime: node id → peer address (persisted; see `RaftLog.addNode`).
    public private(set) var members: [String: String] = [:]
    /// terms[i] is the term of entry snapIndex + i (terms[0] = snapTerm).
    private var terms: [UInt64] = [0]
    /// Recently written entries, a contiguous run ending at `lastIndex`.
    private var cache: [Raft.Entry] = []
    private var cacheBytes = 0
    /// Byte budget of the recent-entries cache.
    let cacheLimit: Int
    private var closed = false
    /// The environment's flags when the last write transaction committed (tests check that no
    /// write skips the fsync).
    var flagsAtLastCommit: UInt32 = 0
    /// Write transactions committed since opening (tests).
    var commitCount = 0

    /// Opens (creating if needed) the storage in `directory`. A new storage starts with membership
    /// `initialVoters`; an existing one uses what it persisted. Blocks for file I/O and, on open, a
    /// scan of the stored terms. The map grows by itself up to `maxMapSize` (0: it stays at
    /// `mapSize`; `LogBodyReader+MapGrowth.swift`). Throws `ClusterError(.storage/.corrupt)`.
    public init(directory: String, initialVoters: [UInt64], mapSize: Int = 32 << 30, maxMapSize: Int = 0,
                cacheLimit: Int = 64 << 20) throws(ClusterError) {
        self.directory = directory
        self.cacheLimit = cacheLimit
        conf = Raft.ConfState(voters: initialVoters)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ClusterError(.storage, "cannot create directory: \(error)", context: directory)
        }
        (env, dbEntries, dbMeta) = try Self.openEnvironment(directory: directory, mapSize: mapSize)
        bodyReader = LogBodyReader(env: env, dbi: dbEntries, directory: directory,
                                   maxMapSize: maxMapSize > mapSize ? maxMapSize : 0)
        do {
            try load()
        } catch {
            bodyReader.close()
            throw error
        }
    }

    deinit { close() }

    /// Closes the environment. Idempotent; driving thread only (or after it stopped).
    public func close() {
        guard !closed else { return }
        closed = true
        bodyReader.close()
    }

    // MARK: RaftStorage

    /// Persisted hard state and membership (driving thread; in memory).
    public func initialState() -> (hardState: Raft.HardState, confState: Raft.ConfState) { (hard, conf) }

    /// First index held (compaction point + 1). In memory.
    public var firstIndex: UInt64 { snapIndex + 1 }

    /// Last index held (the compaction point when the log is empty). In memory.
    public var lastIndex: UInt64 { snapIndex + UInt64(terms.count - 1) }

    /// Term of the entry at `index` (compaction point included); in memory. Driving thread.
    public func term(at index: UInt64) throws(Raft.Error) -> UInt64 {
        if index < snapIndex { throw Raft.Error(.compacted, "term of \(index) compacted (first \(firstIndex))") }
        if index > lastIndex { throw Raft.Error(.unavailable, "term of \(index) beyond last \(lastIndex)") }
        return terms[Int(index - snapIndex)]
    }

    /// The compaction point as a data-less snapshot (the state is the spool itself). In memory.
    public func snapshot() throws(Raft.Error) -> Raft.Snapshot {
        // The application state is the spool itself; snapshots are metadata only (see RaftLog docs).
        Raft.Snapshot(index: snapIndex, term: snapTerm, confState: conf)
    }

    /// Entries in [lo, hi) within `maxBytes` (at least one): from the recent-entries cache, or one
    /// short LMDB read transaction. Driving thread.
    public func entries(from lo: UInt64, to hi: UInt64, maxBytes: Int) throws(Raft.Error) -> [Raft.Entry] {
        if lo < firstIndex { throw Raft.Error(.compacted, "entry \(lo) compacted (first \(firstIndex))") }
        if hi > lastIndex + 1 { throw Raft.Error(.unavailable, "entries up to \(hi - 1) beyond last \(lastIndex)") }
        if lo >= hi { return [] }
        if let start = cache.first?.index, lo >= start {
            var out: [Raft.Entry] = []
            var size = 0
            var i = Int(lo - start)
            let end = Int(hi - start)
            while i < end {
                size += cache[i].byteSize
                if !out.isEmpty && size > maxBytes { break }
                out.append(cache[i])
                i += 1
            }
            return out
        }
        do {
            return try readEntries(from: lo, to: hi, maxBytes: maxBytes)
        } catch {
            // The log is our own fsynced data: failing to read it is not recoverable here.
            preconditionFailure("raft log read [\(lo), \(hi)) failed: \(error)")
        }
    }

    // MARK: Writes (driving thread)

    /// Persists a `Ready`'s entries (replacing any stored entries at the same or later indexes)
    /// and hard state in ONE fsynced write transaction. Entries at or below the compaction point
    /// are skipped. A hard state that changes only the commit index is not written on its own: it
    /// is kept in memory and written with the next entries or term/vote change (after a restart
    /// the commit index is raised to the spool's applied index, see `raiseCommit`, and the leader
    /// advances it). Blocks.
    public func persist(entries: [Raft.Entry], hardState: Raft.HardState?) throws(ClusterError) {
        var ents = entries[...]
        while let f = ents.first, f.index <= snapIndex { ents = ents.dropFirst() }
        if ents.isEmpty && hardState == nil { return }
        if let first = ents.first, first.index > lastIndex + 1 {
            throw ClusterError(.storage, "gap appending \(first.index) after \(lastIndex)", context: directory)
        }
        let hs = hardState ?? hard
        if ents.isEmpty && hs.term == hard.term && hs.vote == hard.vote {
            hard = hs  // commit index only
            return
        }
        try write(needed: ents.reduce(0) { $0 + $1.byteSize }) { txn throws(ClusterError) in
            if let first = ents.first {
                if first.index <= lastIndex {
                    for i in first.index...lastIndex { try txn.delete(dbEntries, Self.key(i)) }
                }
                for e in ents {
                    try txn.put(dbEntries, Self.key(e.index), Self.encode(e), flags: UInt32(MDB_APPEND))
                }
            }
            try txn.put(dbMeta, Self.hardKey, Self.encode(hs))
        }
        hard = hs
        guard let first = ents.first else { return }
        terms.removeSubrange(Int(first.index - snapIndex)...)
        for e in ents { terms.append(e.term) }
        if let cs = cache.first?.index, first.index > cs, first.index <= cs + UInt64(cache.count) {
            let drop = cache[Int(first.index - cs)...]
            cacheBytes -= drop.reduce(0) { $0 + $1.byteSize }
            cache.removeSubrange(Int(first.index - cs)...)
        } else {
            cache.removeAll(keepingCapacity: true)
            cacheBytes = 0
        }
        for e in ents {
            cache.append(e)
            cacheBytes += e.byteSize
        }
        trimCache()
    }

    /// Raises the in-memory commit index to `index` (the spool's applied index at start: applied
    /// entries were committed), without writing. Call before handing the storage to `Raft`.
    /// Indexes beyond the last entry are ignored.
    public func raiseCommit(to index: UInt64) {
        guard index > hard.commit, index <= lastIndex else { return }
        hard.commit = index
    }

    /// Persists the membership returned by `Raft.applyConfChange` (fsynced). Blocks.
    public func setConfState(_ cs: Raft.ConfState) throws(ClusterError) {
        try write { txn throws(ClusterError) in try txn.put(dbMeta, Self.confKey, Self.encode(cs)) }
        conf = cs
    }

    /// Records (address non-nil) or forgets a runtime member's address (fsynced). Blocks.
    public func setMember(_ name: String, address: String?) throws(ClusterError) {
        var m = members
        m[name] = address
        var w = WireWriter(capacity: 64)
        w.varint(UInt64(m.count))
        for (k, v) in m.sorted(by: { $0.key < $1.key }) {
            w.lengthPrefixed(Array(k.utf8))
            w.lengthPrefixed(Array(v.utf8))
        }
        try write { txn throws(ClusterError) in try txn.put(dbMeta, Self.membersKey, w.bytes) }
        members = m
    }

    /// Drops the cached copies of entries up to `index` (they were applied). Any index is fine.
    public func releaseCache(through index: UInt64) {
        var n = 0
        for e in cache {
            if e.index > index { break }
            cacheBytes -= e.byteSize
            n += 1
        }
        if n > 0 { cache.removeFirst(n) }
    }

    /// Discards entries up to `index` (which the caller has applied to the spool), making it the
    /// compaction point; at most `maxDeletes` entries go per call (call again to continue). Returns
    /// the new compaction point. Entries `pinned` returns for the range being compacted (bodies of
    /// queued messages, `SpoolStore.logBodyPins`) stay stored below the compaction point, in
    /// `retained`, until `sweepRetained` finds them unpinned. Blocks (one synced write).
    @discardableResult
    public func compact(to index: UInt64, maxDeletes: Int = 20_000,
                        keeping pinned: (ClosedRange<UInt64>) throws(ClusterError) -> [UInt64] = { _ in [] })
        throws(ClusterError) -> UInt64 {
        let target = Swift.min(index, lastIndex, snapIndex + UInt64(maxDeletes))
        guard target > snapIndex else { return snapIndex }
        let newTerm = terms[Int(target - snapIndex)]
        let range = firstIndex...target
        let kept = Set(try pinned(range).filter { range.contains($0) })
        try write { txn throws(ClusterError) in
            for i in firstIndex...target where !kept.contains(i) { try txn.delete(dbEntries, Self.key(i)) }
            var w = WireWriter(capacity: 20)
            w.varint(target)
            w.varint(newTerm)
            try txn.put(dbMeta, Self.snapKey, w.bytes)
        }
        terms.removeFirst(Int(target - snapIndex))
        snapIndex = target
        snapTerm = newTerm
        releaseCache(through: target)
        retainedEntries += kept.count
        return target
    }

    /// Makes (index, term) the compaction point with membership `confState`, raising the
    /// committed index to it (used when the spool was replaced by a leader's snapshot). When the
    /// log holds an entry at `index` with `term`, the entries after it are kept (this node may have
    /// acknowledged them); otherwise the whole log is dropped, which is refused when entries beyond
    /// `index` are committed. Blocks (one synced write).
    public func reset(toSnapshot index: UInt64, term: UInt64, confState: Raft.ConfState) throws(ClusterError) {
        let keepTail = index >= snapIndex && index <= lastIndex && terms[Int(index - snapIndex)] == term
        guard keepTail || hard.commit <= index else {
            throw ClusterError(.storage, "snapshot at \(index) is behind the committed index \(hard.commit)",
                               context: directory)
        }
        var hs = hard
        hs.commit = Swift.max(hs.commit, index)
        if hs.term < term { hs.term = term }
        let first = firstIndex
        let last = keepTail ? index : lastIndex
        try write { txn throws(ClusterError) in
            if last >= first { for i in first...last { try txn.delete(dbEntries, Self.key(i)) } }
            var w = WireWriter(capacity: 20)
            w.varint(index)
            w.varint(term)
            try txn.put(dbMeta, Self.snapKey, w.bytes)
            try txn.put(dbMeta, Self.hardKey, Self.encode(hs))
            try txn.put(dbMeta, Self.confKey, Self.encode(confState))
        }
        hard = hs
        conf = confState
        if keepTail {
            terms.removeFirst(Int(index - snapIndex))
            releaseCache(through: index)
        } else {
            terms = [term]
            cache.removeAll()
            cacheBytes = 0
        }
        snapIndex = index
        snapTerm = term
    }

    /// Number of entries held in the log.
    public var entryCount: Int { terms.count - 1 }

    private func trimCache() {
        var n = 0
        var bytes = cacheBytes
        while bytes > cacheLimit && n < cache.count - 1 {
            bytes -= cache[n].byteSize
            n += 1
        }
        if n > 0 {
            cache.removeFirst(n)
            cacheBytes = bytes
        }
    }

    /// Reads meta and the term of every held entry.
    private func load() throws(ClusterError) {
        try read { txn throws(ClusterError) in
            if let v = try txn.get(dbMeta, Self.hardKey) { hard = try Self.decodeHardState(v) }
            if let v = try txn.get(dbMeta, Self.confKey) { conf = try Self.decodeConfState(v) }
            if let v = try txn.get(dbMeta, Self.membersKey) { members = try Self.decodeMembers(v) }
            catchingUp = try txn.get(dbMeta, Self.catchingUpKey) != nil
            let hasHard = try txn.get(dbMeta, Self.hardKey) != nil
            let hasSnap = try txn.get(dbMeta, Self.snapKey) != nil
            openedEmpty = !hasHard && !hasSnap
            if let v = try txn.get(dbMeta, Self.snapKey) {
                var r = WireReader(v[...])
                do {
                    snapIndex = try r.varint()
                    snapTerm = try r.varint()
                } catch {
                    throw ClusterError(.corrupt, "snapshot metadata: \(error)", context: directory)
                }
            }
            terms = [snapTerm]
            var expected = snapIndex + 1
            try txn.forEach(dbEntries, from: Self.key(snapIndex + 1)) { key, value throws(ClusterError) in
                let index = Self.index(key)
                guard index == expected, value.count >= 9 else {
                    throw ClusterError(.corrupt, "raft log entry \(index) out of sequence (expected \(expected))",
                                       context: directory)
                }
                terms.append(value.loadUnaligned(as: UInt64.self).littleEndian)
                expected += 1
                return true
            }
            // Every stored entry that is not in the log is a retained one (O(1), no walk).
            retainedEntries = max(0, try txn.count(dbEntries) - (terms.count - 1))
        }
        openedEmpty = openedEmpty && terms.count == 1
        if hard.commit > lastIndex {
            throw ClusterError(.corrupt, "commit \(hard.commit) beyond last entry \(lastIndex)", context: directory)
        }
    }

    private func readEntries(from lo: UInt64, to hi: UInt64, maxBytes: Int) throws(ClusterError) -> [Raft.Entry] {
        try read { txn throws(ClusterError) in
            var out: [Raft.Entry] = []
            var size = 0
            try txn.forEach(dbEntries, from: Self.key(lo)) { key, value throws(ClusterError) in
                let index = Self.index(key)
                if index >= hi { return false }
                let e = try Self.decodeEntry(index: index, value)
                size += e.byteSize
                if !out.isEmpty && size > maxBytes { return false }
                out.append(e)
                return true
            }
            return out
        }
    }
}
