import CLMDB
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A consistent, compacted copy of an LMDB environment's tables into a new environment, made so
/// that the source's map can grow while it runs (backups and raft snapshots of the spool, backups
/// of the raft log).
///
/// `mdb_env_copy2` holds one read transaction for the whole copy, and growing a map
/// (`mdb_env_set_mapsize`) needs every transaction of the process to end first: a copy of a large
/// store held a growth, and the commit that found the map full and waited for it, for the whole
/// copy. This copy reads the tables in key order in one read transaction and appends them
/// (`MDB_APPEND`) to the destination, committing it every `batchBytes`. Before each record it
/// checks `MapGrowthState.urgent`; when a growth for a write that found the map full (or an
/// adoption of another process's size, or the closing of the env) waits, it ends its read
/// transaction at once, lets it run, and starts over into an emptied destination (a copy must come
/// from one snapshot). A growth doubles the map, so restarts are few; a commit waits at most for
/// one record's copy, not for the whole copy. A growth ahead of need does not stop the copy, and is
/// not tried while one runs (`MapGrowthState.longReads`): restarted every 250 ms, a long copy could
/// never finish. Blocks for the copy's I/O; any thread.
public struct LMDBChunkedCopy {
    /// The tables to copy, by name and handle in the source (opened with no flags but
    /// `MDB_CREATE`: plain keys in the default order, no duplicates).
    public var tables: [(name: String, dbi: MDB_dbi)]
    /// Bytes appended to the destination per write transaction.
    public var batchBytes = 8 << 20
    /// Called after each destination commit but the last, with the source's read transaction
    /// still open (tests use it to hold a copy in progress).
    public var onBatch: (() -> Void)? = nil
    /// Times the copy started over because a growth (or close) waited for the source.
    public private(set) var restarts = 0

    /// A copy of `tables`. Pure.
    public init(tables: [(name: String, dbi: MDB_dbi)]) {
        self.tables = tables
    }

    /// Copies the tables of `env` into a new environment in `directory` (created if needed; it
    /// must not hold a store: a restart replaces only this copy's own files), fsynced at the end. `shared` runs its argument
    /// while no growth of the source runs (the source store's shared lock); `adoptMapSize` adopts
    /// a size another process gave the map (`MDB_MAP_RESIZED`), outside `shared`. Blocks.
    public mutating func run(env: OpaquePointer, to directory: String, growth: MapGrowthState,
                             shared: (() throws -> Void) throws -> Void, adoptMapSize: () throws -> Void) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError(.ioError, "cannot create directory: \(error)", context: directory)
        }
        guard !FileManager.default.fileExists(atPath: directory + "/data.mdb") else {
            throw StoreError(.ioError, "the copy's directory already holds a store", context: directory)
        }
        growth.longReads.add(1, ordering: .relaxed)
        defer { growth.longReads.subtract(1, ordering: .relaxed) }
        while true {
            var outcome = Outcome.interrupted
            try shared { outcome = try attempt(env: env, to: directory, growth: growth) }
            switch outcome {
            case .done: return
            case .resized: try adoptMapSize()
            case .interrupted:
                restarts += 1
                // Let the waiting growth take the env before beginning again.
                while growth.urgent.load(ordering: .relaxed) > 0 { usleep(1_000) }
            }
        }
    }

    private enum Outcome { case done, interrupted, resized }

    /// One attempt, under the source's shared lock.
    private func attempt(env: OpaquePointer, to directory: String, growth: MapGrowthState) throws -> Outcome {
        for file in ["data.mdb", "lock.mdb"] { unlink(directory + "/" + file) }
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        let dest = try Self.openDestination(directory, mapSize: Int(info.me_mapsize), tables: tables.count)
        defer { mdb_env_close(dest) }
        var srcp: OpaquePointer?
        let brc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &srcp)
        if brc == MDB_MAP_RESIZED { return .resized }
        guard brc == 0, let src = srcp else { throw StoreError.lmdb(brc, "mdb_txn_begin (copy)") }
        defer { mdb_txn_abort(src) }
        var txn = try Self.begin(dest)
        var open = true
        defer { if open { mdb_txn_abort(txn) } }
        var destTables: [MDB_dbi] = []
        for t in tables {
            var dbi: MDB_dbi = 0
            try Self.check(mdb_dbi_open(txn, t.name, UInt32(MDB_CREATE), &dbi), "mdb_dbi_open \(t.name) (copy)")
            destTables.append(dbi)
        }
        var pending = 0
        for (t, destDBI) in zip(tables, destTables) {
            var cursorp: OpaquePointer?
            try Self.check(mdb_cursor_open(src, t.dbi, &cursorp), "mdb_cursor_open \(t.name) (copy)")
            guard let cursor = cursorp else { throw StoreError(.internalError, "no cursor", context: t.name) }
            defer { mdb_cursor_close(cursor) }
            var key = MDB_val()
            var value = MDB_val()
            var rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
            while rc == 0 {
                if growth.urgent.load(ordering: .relaxed) > 0 { return .interrupted }
                try Self.check(mdb_put(txn, destDBI, &key, &value, UInt32(MDB_APPEND)), "mdb_put \(t.name) (copy)")
                pending += key.mv_size + value.mv_size
                if pending >= batchBytes {
                    open = false
                    try Self.check(mdb_txn_commit(txn), "mdb_txn_commit (copy)")
                    txn = try Self.begin(dest)
                    open = true
                    pending = 0
                    onBatch?()
                }
                rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
            }
            guard rc == MDB_NOTFOUND else { throw StoreError.lmdb(rc, "mdb_cursor_get \(t.name) (copy)") }
        }
        open = false
        try Self.check(mdb_txn_commit(txn), "mdb_txn_commit (copy)")
        try Self.check(mdb_env_sync(dest, 1), "mdb_env_sync (copy)")
        return .done
    }

    private static func openDestination(_ directory: String, mapSize: Int, tables: Int) throws -> OpaquePointer {
        var envp: OpaquePointer?
        try check(mdb_env_create(&envp), "mdb_env_create (copy)")
        guard let env = envp else { throw StoreError(.internalError, "no environment", context: directory) }
        do {
            try check(mdb_env_set_mapsize(env, mapSize), "mdb_env_set_mapsize (copy)")
            try check(mdb_env_set_maxdbs(env, MDB_dbi(tables + 4)), "mdb_env_set_maxdbs (copy)")
            try check(mdb_env_open(env, directory, UInt32(MDB_NOTLS | MDB_NOSYNC), 0o600), "mdb_env_open \(directory) (copy)")
        } catch {
            mdb_env_close(env)
            throw error
        }
        return env
    }

    private static func begin(_ env: OpaquePointer) throws -> OpaquePointer {
        var txnp: OpaquePointer?
        try check(mdb_txn_begin(env, nil, 0, &txnp), "mdb_txn_begin (copy)")
        guard let txn = txnp else { throw StoreError(.internalError, "no transaction", context: "copy") }
        return txn
    }

    private static func check(_ rc: Int32, _ what: String) throws {
        guard rc == 0 else { throw StoreError.lmdb(rc, what) }
    }
}
