import CLMDB
import Foundation
import Glibc
import SpoolStore

extension RaftLogStorage {
    /// Writes a consistent, compacted copy of the raft log store (as of one read transaction) into
    /// `directory` (created if needed; must not hold a store). Blocks for the copy's I/O; writers
    /// keep running, and a map growth they need does not wait for the copy (`LMDBChunkedCopy`: the
    /// copy starts over after it). `batchBytes` and `onBatch` are for tests. Any thread.
    public func backup(to directory: String, batchBytes: Int = 8 << 20, onBatch: (() -> Void)? = nil) throws(ClusterError) {
        var copy = LMDBChunkedCopy(tables: [(name: "entries", dbi: dbEntries), (name: "meta", dbi: dbMeta)])
        copy.batchBytes = batchBytes
        copy.onBatch = onBatch
        let reader = bodyReader
        do {
            try copy.run(env: env, to: directory, growth: reader.growth,
                         shared: { body in
                             try reader.lockShared(context: "backup to \(directory)")
                             defer { pthread_rwlock_unlock(reader.lock) }
                             try body()
                         },
                         adoptMapSize: { try reader.adoptMapSize(timeout: nil) })
        } catch let e as ClusterError {
            throw e
        } catch {
            throw ClusterError(.storage, "copy failed: \(error)", context: directory)
        }
    }
}

extension RaftLog {
    /// Writes a consistent copy of this node's raft log store into `directory` (for `sendarix
    /// backup`: take the spool copy first, then this one, so the log reaches at least as far as the
    /// spool copy applied). Blocks for the copy's I/O; any thread while the log runs.
    public func backupStorage(to directory: String) throws(ClusterError) {
        guard let storage else { throw ClusterError(.closed, "the raft log is not open") }
        try storage.backup(to: directory)
    }
}
