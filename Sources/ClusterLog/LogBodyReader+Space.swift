import CLMDB
import Glibc
import SpoolStore

extension LogBodyReader {
    /// Bytes the raft LMDB map can still take: the map size, or the most it may grow to bounded by
    /// the filesystem's free space, less the pages in use (pages written less the free list). With
    /// bodies kept in the log (`cluster.bodiesInLog`) the raft map holds every queued body, so
    /// admission refuses new mail (452) before it fills: a full raft map stops this member from
    /// storing entries, and once that is a majority nothing commits, not even the deliveries and
    /// deletes that would free it. Nil when the log is closed or LMDB
    /// fails. One short read transaction; any thread.
    public func availableBytes() -> Int? {
        guard let usage = try? spaceUsage() else { return nil }
        return usage.available
    }

    /// The raft map's size and use, the most it may grow to (`maxMapSize`) and the filesystem's
    /// free space: `available` counts what the map may still grow into. One short read
    /// transaction (walks LMDB's free list); any thread.
    public func spaceUsage() throws -> SpoolStore.SpaceUsage {
        let (mapSize, used) = try withReadTransaction("mdb_txn_begin (space use)") { txn in
            SpoolStore.lmdbMapUse(env: env, readTransaction: txn)
        }
        var usage = SpoolStore.SpaceUsage(mapSize: mapSize, used: used)
        usage.maxMapSize = maxMapSize
        var fs = statvfs()
        if !directory.isEmpty, statvfs(directory, &fs) == 0 { usage.filesystemFree = Int(fs.f_bavail) * Int(fs.f_frsize) }
        return usage
    }
}
