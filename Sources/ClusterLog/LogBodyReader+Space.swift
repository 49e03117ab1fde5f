import CLMDB
import Glibc
import SpoolStore

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
        var txnp: OpaquePointer?
        guard mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txnp) == 0, let txn = txnp else { return nil }
        defer { mdb_txn_abort(txn) }
        let (mapSize, used) = SpoolStore.lmdbMapUse(env: env, readTransaction: txn)
        return max(0, mapSize - used)
    }
}
