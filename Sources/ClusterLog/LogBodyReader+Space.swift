import CLMDB
import Glibc

extension LogBodyReader {
    /// Bytes the raft LMDB map can still take: the map size less the pages in use (pages written
    /// less the free list). With bodies kept in the log (`cluster.bodiesInLog`) the raft map holds
    /// every queued body, so admission refuses new mail (452) before it fills: a full raft map
    /// stops this member from storing entries, and once that is a majority nothing commits, not
    /// even the deliveries and deletes that would free it. Nil when the log is closed or LMDB
    /// fails. One short read transaction; any thread.
    public func availableBytes() -> Int? {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        guard !closed else { return nil }
        var info = MDB_envinfo()
        var stat = MDB_stat()
        guard mdb_env_info(env, &info) == 0, mdb_env_stat(env, &stat) == 0 else { return nil }
        var txnp: OpaquePointer?
        guard mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txnp) == 0, let txn = txnp else { return nil }
        defer { mdb_txn_abort(txn) }
        // The free list is database 0 (FREE_DBI): each value is a list of page numbers whose first
        // word is its length.
        var cursorp: OpaquePointer?
        guard mdb_cursor_open(txn, 0, &cursorp) == 0, let cursor = cursorp else { return nil }
        defer { mdb_cursor_close(cursor) }
        var freePages = 0
        var key = MDB_val()
        var value = MDB_val()
        var op = MDB_FIRST
        while mdb_cursor_get(cursor, &key, &value, op) == 0 {
            op = MDB_NEXT
            guard value.mv_size >= MemoryLayout<Int>.size, let data = value.mv_data else { continue }
            freePages += data.loadUnaligned(as: Int.self)
        }
        let pageSize = Int(stat.ms_psize)
        let used = max(0, Int(info.me_last_pgno) + 1 - freePages) * pageSize
        return max(0, Int(info.me_mapsize) - used)
    }
}
