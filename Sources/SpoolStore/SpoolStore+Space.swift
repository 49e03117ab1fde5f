import CLMDB
import Glibc

extension SpoolStore {
    /// How much of the LMDB map the spool uses.
    public struct SpaceUsage: Sendable, Equatable {
        /// The map size (the most the spool can hold), bytes.
        public var mapSize: Int
        /// Bytes in pages in use: pages ever written less the pages on LMDB's free list (which new
        /// writes reuse).
        public var used: Int

        /// Bytes free on the filesystem holding the spool (for unprivileged writers), or nil when
        /// unknown. The map can only grow into what the disk has.
        public var filesystemFree: Int? = nil

        /// The most the map grows to by itself (`Options.maxMapSize`; 0: it does not grow).
        public var maxMapSize: Int = 0

        /// Bytes still available to new writes: what the map has left (counting what it may
        /// still grow by), bounded by the disk.
        public var available: Int { max(0, min(max(mapSize, maxMapSize) - used, filesystemFree ?? Int.max)) }
    }

    /// The spool's space use, counted on a read transaction (walks LMDB's free list: cheap, its
    /// entries are page-number runs). Any thread; does not block writers.
    public func spaceUsage() throws -> SpaceUsage {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        mdb_env_info(env, &info)
        mdb_env_stat(env, &stat)
        let pageSize = Int(stat.ms_psize)
        let freePages: Int = try read { txn in
            // The free list is database 0 (FREE_DBI): each value is a list of page numbers whose
            // first word is its length.
            let cursor = try txn.cursor(0)
            defer { cursor.close() }
            var count = 0
            var op = MDB_FIRST
            while let (_, value) = try cursor.get(op) {
                op = MDB_NEXT
                guard value.count >= MemoryLayout<Int>.size else { continue }
                count += value.loadUnaligned(as: Int.self)
            }
            return count
        }
        let pagesWritten = Int(info.me_last_pgno) + 1
        var usage = SpaceUsage(mapSize: Int(info.me_mapsize), used: max(0, pagesWritten - freePages) * pageSize)
        usage.maxMapSize = options.maxMapSize
        var fs = statvfs()
        if statvfs(directory, &fs) == 0 {
            usage.filesystemFree = Int(fs.f_bavail) * Int(fs.f_frsize)
        }
        return usage
    }
}
