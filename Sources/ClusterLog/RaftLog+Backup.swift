import CLMDB
import Foundation

extension RaftLogStorage {
    /// Writes a consistent, compacted copy of the raft log store (as of one read transaction) into
    /// `directory` (created if needed; must not hold a store). Blocks for the copy's I/O; writers
    /// keep running. Any thread.
    public func backup(to directory: String) throws(ClusterError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ClusterError(.storage, "cannot create \(directory): \(error)", context: directory)
        }
        let rc = mdb_env_copy2(env, directory, UInt32(MDB_CP_COMPACT))
        guard rc == 0 else {
            throw ClusterError(.storage, "mdb_env_copy2: \(String(cString: mdb_strerror(rc)))", context: directory)
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
