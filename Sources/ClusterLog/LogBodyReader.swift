import CLMDB
import Glibc
import SpoolStore

/// Reads message bodies kept inside committed raft entries (`SpoolStore+LogBodies.swift`) for
/// the spool's body readers (delivery, the admin API), on any thread: each read is one short
/// read-only transaction on the raft LMDB environment (opened `MDB_NOTLS`) and lends the bytes
/// straight from the memory map, without a copy.
///
/// Owns the closing of the environment (`RaftLogStorage.close`): a read in progress finishes
/// first, later reads throw `.closed`. `@unchecked Sendable` is sound: `env` and `dbi` are
/// immutable and every use of them is under `lock` (read side), closing under its write side.
public final class LogBodyReader: LogBodySource, @unchecked Sendable {
    let env: OpaquePointer
    private let dbi: MDB_dbi
    /// Held shared by every use of `env` (reads on any thread, the driving thread's transactions,
    /// backups) and exclusively by a map growth (`LogBodyReader+MapGrowth.swift`) and `close`.
    let lock: UnsafeMutablePointer<pthread_rwlock_t>
    private(set) var closed = false
    /// The directory of the environment (its filesystem bounds the map's growth).
    let directory: String
    /// The most the map grows to by itself (0: it stays at its size).
    let maxMapSize: Int
    /// Map growth bookkeeping: growths, their observer, and the flag readers step aside for.
    let growth = MapGrowthState()

    init(env: OpaquePointer, dbi: MDB_dbi, directory: String = "", maxMapSize: Int = 0) {
        self.env = env
        self.dbi = dbi
        self.directory = directory
        self.maxMapSize = maxMapSize
        lock = .allocate(capacity: 1)
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        close()
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Closes the environment once running reads end; a backup copy in progress steps out for it
    /// (`MapGrowthState.urgent`) and then finds the log closed. Idempotent; any thread.
    func close() {
        _ = growth.lockExclusively(lock, timeout: nil, urgent: true)
        defer { pthread_rwlock_unlock(lock) }
        guard !closed else { return }
        closed = true
        mdb_env_close(env)
    }

    /// See `LogBodySource`. The entry's stored value is `term (8) | kind (1) | data`.
    public func withEntryBytes<T>(index: UInt64, offset: Int, length: Int,
                                  _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        try withReadTransaction("mdb_txn_begin (body read of entry \(index))") { txn in
            var value = MDB_val()
            let grc = RaftLogStorage.key(index).withUnsafeBytes { k -> Int32 in
                var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                return mdb_get(txn, dbi, &kv, &value)
            }
            if grc == MDB_NOTFOUND { return nil }
            guard grc == 0 else { throw RaftLogStorage.lmdbError(grc, "mdb_get (body read)") }
            let start = 9 + offset
            guard offset >= 0, length >= 0, value.mv_size >= start + length else { return nil }
            return try body(UnsafeRawBufferPointer(start: value.mv_data.advanced(by: start), count: length))
        }
    }
}
