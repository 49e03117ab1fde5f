import CLMDB
import Glibc
import RaftCore

extension RaftLogStorage {
    /// A borrowed LMDB transaction with typed helpers; every LMDB failure becomes a `ClusterError`.
    /// Used only inside `read`/`write` on the driving thread.
    struct Txn {
        let txn: OpaquePointer

        func get(_ dbi: MDB_dbi, _ key: [UInt8]) throws(ClusterError) -> [UInt8]? {
            var value = MDB_val()
            let rc = key.withUnsafeBytes { k -> Int32 in
                var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                return mdb_get(txn, dbi, &kv, &value)
            }
            if rc == MDB_NOTFOUND { return nil }
            try check(rc, "mdb_get")
            return Array(UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
        }

        func put(_ dbi: MDB_dbi, _ key: [UInt8], _ value: [UInt8], flags: UInt32 = 0) throws(ClusterError) {
            let rc = key.withUnsafeBytes { k -> Int32 in
                value.withUnsafeBytes { v -> Int32 in
                    var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                    var vv = MDB_val(mv_size: v.count, mv_data: UnsafeMutableRawPointer(mutating: v.baseAddress))
                    return mdb_put(txn, dbi, &kv, &vv, flags)
                }
            }
            try check(rc, "mdb_put")
        }

        func delete(_ dbi: MDB_dbi, _ key: [UInt8]) throws(ClusterError) {
            let rc = key.withUnsafeBytes { k -> Int32 in
                var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                return mdb_del(txn, dbi, &kv, nil)
            }
            if rc == MDB_NOTFOUND { return }
            try check(rc, "mdb_del")
        }

        /// Number of records in table `dbi` (from the B-tree's statistics; no walk).
        func count(_ dbi: MDB_dbi) throws(ClusterError) -> Int {
            var stat = MDB_stat()
            try check(mdb_stat(txn, dbi, &stat), "mdb_stat")
            return Int(stat.ms_entries)
        }

        /// Visits records in key order from `start` (or the first) while `body` returns true.
        /// Buffers are borrowed: valid only during the call.
        func forEach(_ dbi: MDB_dbi, from start: [UInt8]? = nil,
                     _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(ClusterError) -> Bool) throws(ClusterError) {
            var cp: OpaquePointer?
            try check(mdb_cursor_open(txn, dbi, &cp), "mdb_cursor_open")
            guard let cursor = cp else { throw ClusterError(.storage, "no cursor") }
            defer { mdb_cursor_close(cursor) }
            var k = MDB_val()
            var v = MDB_val()
            var rc: Int32
            if let start {
                rc = start.withUnsafeBytes { kb -> Int32 in
                    k = MDB_val(mv_size: kb.count, mv_data: UnsafeMutableRawPointer(mutating: kb.baseAddress))
                    return mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE)
                }
            } else {
                rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
            }
            while rc == 0 {
                let more = try body(UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                                    UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
                if !more { return }
                rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
            }
            if rc != MDB_NOTFOUND { try check(rc, "mdb_cursor_get") }
        }

        func check(_ rc: Int32, _ what: String) throws(ClusterError) {
            guard rc == 0 else { throw RaftLogStorage.lmdbError(rc, what) }
        }
    }

    static func lmdbError(_ rc: Int32, _ what: String) -> ClusterError {
        ClusterError(.storage, String(cString: mdb_strerror(rc)), context: what)
    }

    static func openEnvironment(directory: String, mapSize: Int) throws(ClusterError) -> (OpaquePointer, MDB_dbi, MDB_dbi) {
        var envp: OpaquePointer?
        var rc = mdb_env_create(&envp)
        guard rc == 0, let env = envp else { throw lmdbError(rc, "mdb_env_create \(directory)") }
        func fail(_ rc: Int32, _ what: String) -> ClusterError {
            mdb_env_close(env)
            return lmdbError(rc, "\(what) \(directory)")
        }
        rc = mdb_env_set_mapsize(env, mapSize)
        if rc != 0 { throw fail(rc, "mdb_env_set_mapsize") }
        rc = mdb_env_set_maxdbs(env, 4)
        if rc != 0 { throw fail(rc, "mdb_env_set_maxdbs") }
        rc = mdb_env_open(env, directory, UInt32(MDB_NOTLS), 0o600)
        if rc != 0 { throw fail(rc, "mdb_env_open") }
        var dead: Int32 = 0
        _ = mdb_reader_check(env, &dead)
        var txnp: OpaquePointer?
        rc = mdb_txn_begin(env, nil, 0, &txnp)
        guard rc == 0, let txn = txnp else { throw fail(rc, "mdb_txn_begin") }
        var entries: MDB_dbi = 0
        var meta: MDB_dbi = 0
        rc = mdb_dbi_open(txn, "entries", UInt32(MDB_CREATE), &entries)
        if rc == 0 { rc = mdb_dbi_open(txn, "meta", UInt32(MDB_CREATE), &meta) }
        if rc != 0 {
            mdb_txn_abort(txn)
            throw fail(rc, "mdb_dbi_open")
        }
        rc = mdb_txn_commit(txn)
        if rc != 0 { throw fail(rc, "mdb_txn_commit") }
        return (env, entries, meta)
    }

    /// Runs `body` in a write transaction and commits it, fsynced. `MDB_NOSYNC` is never used on
    /// this environment: LMDB documents that an OS crash may then corrupt the database, and it
    /// holds the term and vote. A write that finds the map full grows it (`needed`: the bytes it
    /// adds, about), or at its maximum has a backup copy free the pages it held, and runs once more; after a write the map may grow ahead of need
    /// (`LogBodyReader+MapGrowth.swift`). Driving thread only; blocks.
    func write(needed: Int = 0, _ body: (Txn) throws(ClusterError) -> Void) throws(ClusterError) {
        do {
            try writeOnce(body)
        } catch let error where Self.isMapFull(error) {
            guard try bodyReader.makeRoomForFullMap(needed: needed, timeout: LogBodyReader.fullWait) else { throw error }
            try writeOnce(body)
        }
        bodyReader.growAheadIfDue(needed: needed)
    }

    private func writeOnce(_ body: (Txn) throws(ClusterError) -> Void) throws(ClusterError) {
        try bodyReader.lockShared(context: "write \(directory)")
        var locked = true
        defer { if locked { pthread_rwlock_unlock(bodyReader.lock) } }
        var txnp: OpaquePointer?
        var rc = mdb_txn_begin(env, nil, 0, &txnp)
        if rc == MDB_MAP_RESIZED {
            pthread_rwlock_unlock(bodyReader.lock)
            locked = false
            try bodyReader.adoptMapSize()
            try bodyReader.lockShared(context: "write \(directory)")
            locked = true
            rc = mdb_txn_begin(env, nil, 0, &txnp)
        }
        guard rc == 0, let txn = txnp else { throw Self.lmdbError(rc, "mdb_txn_begin (write)") }
        do {
            try body(Txn(txn: txn))
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
        var flags: UInt32 = 0
        mdb_env_get_flags(env, &flags)
        flagsAtLastCommit = flags
        commitCount += 1
        let crc = mdb_txn_commit(txn)
        guard crc == 0 else { throw Self.lmdbError(crc, "mdb_txn_commit") }
    }

    /// Whether `error` is LMDB's full map (`MDB_MAP_FULL`, as `lmdbError` words it).
    static func isMapFull(_ error: ClusterError) -> Bool {
        error.code == .storage && error.reason == String(cString: mdb_strerror(MDB_MAP_FULL))
    }

    /// Whether the last write transaction committed with a flag that skips or defers the fsync
    /// (`MDB_NOSYNC`, `MDB_NOMETASYNC`, `MDB_MAPASYNC`): never expected (tests).
    var lastCommitSkippedSync: Bool {
        flagsAtLastCommit & UInt32(MDB_NOSYNC | MDB_NOMETASYNC | MDB_MAPASYNC) != 0
    }

    /// Runs `body` in a read-only transaction. Driving thread only.
    func read<T>(_ body: (Txn) throws(ClusterError) -> T) throws(ClusterError) -> T {
        do {
            return try bodyReader.withReadTransaction("mdb_txn_begin (read)") { txn in try body(Txn(txn: txn)) }
        } catch let e as ClusterError {
            throw e
        } catch {
            throw ClusterError(.storage, "\(error)", context: directory)
        }
    }

    // MARK: Encoding

    static let hardKey = Array("hard".utf8)
    static let confKey = Array("conf".utf8)
    static let snapKey = Array("snap".utf8)
    static let membersKey = Array("members".utf8)

    static func decodeMembers(_ v: [UInt8]) throws(ClusterError) -> [String: String] {
        var r = WireReader(v[...])
        var out: [String: String] = [:]
        do {
            let n = try r.varint()
            for _ in 0..<n {
                let k = String(decoding: try r.lengthPrefixed(), as: UTF8.self)
                out[k] = String(decoding: try r.lengthPrefixed(), as: UTF8.self)
            }
        } catch {
            throw ClusterError(.corrupt, "member addresses: \(error)")
        }
        return out
    }

    static func key(_ index: UInt64) -> [UInt8] {
        withUnsafeBytes(of: index.bigEndian) { Array($0) }
    }

    static func index(_ key: UnsafeRawBufferPointer) -> UInt64 {
        guard key.count == 8 else { return 0 }
        return UInt64(bigEndian: key.loadUnaligned(as: UInt64.self))
    }

    static func encode(_ e: Raft.Entry) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(9 + e.data.count)
        withUnsafeBytes(of: e.term.littleEndian) { out.append(contentsOf: $0) }
        out.append(e.kind.rawValue)
        out.append(contentsOf: e.data)
        return out
    }

    static func decodeEntry(index: UInt64, _ v: UnsafeRawBufferPointer) throws(ClusterError) -> Raft.Entry {
        guard v.count >= 9, let kind = Raft.Entry.Kind(rawValue: v[8]) else {
            throw ClusterError(.corrupt, "malformed raft log entry \(index)")
        }
        return Raft.Entry(term: UInt64(littleEndian: v.loadUnaligned(as: UInt64.self)), index: index, kind: kind,
                          data: Array(v[9...]))
    }

    static func encode(_ hs: Raft.HardState) -> [UInt8] {
        var w = WireWriter(capacity: 30)
        w.varint(hs.term)
        w.varint(hs.vote)
        w.varint(hs.commit)
        return w.bytes
    }

    static func decodeHardState(_ v: [UInt8]) throws(ClusterError) -> Raft.HardState {
        var r = WireReader(v[...])
        do {
            return Raft.HardState(term: try r.varint(), vote: try r.varint(), commit: try r.varint())
        } catch {
            throw ClusterError(.corrupt, "hard state: \(error)")
        }
    }

    static func encode(_ cs: Raft.ConfState) -> [UInt8] {
        var w = WireWriter(capacity: 64)
        cs.encode(into: &w)
        return w.bytes
    }

    static func decodeConfState(_ v: [UInt8]) throws(ClusterError) -> Raft.ConfState {
        var r = WireReader(v[...])
        do {
            return try Raft.ConfState.decode(from: &r)
        } catch {
            throw ClusterError(.corrupt, "membership: \(error)")
        }
    }
}
