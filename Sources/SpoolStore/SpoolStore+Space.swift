import CLMDB
import Glibc

extension SpoolStore {
    /// How much of the LMDB map the spool uses.
    public struct SpaceUsage: Sendable, Equatable {
        /// The map size (the most the spool can hold), bytes.
        public var mapSize: Int
        /// Bytes in pages in use: pages ever written less the pages on LMDB's free list that new
        /// writes can reuse now (pages a long read still pins count as used).
        public var used: Int

        /// Bytes free on the filesystem holding the spool (for unprivileged writers), or nil when
        /// unknown. The map can only grow into what the disk has.
        public var filesystemFree: Int? = nil

        /// The most the map grows to by itself (`Options.maxMapSize`; 0: it does not grow).
        public var maxMapSize: Int = 0

        /// Bytes still available to new writes: what the map has left (counting what it may
        /// still grow by), bounded by the disk.
        public var available: Int { max(0, min(max(mapSize, maxMapSize) - used, filesystemFree ?? Int.max)) }

        /// Figures of a map of `mapSize` bytes with `used` bytes in use. Pure.
        public init(mapSize: Int, used: Int, filesystemFree: Int? = nil, maxMapSize: Int = 0) {
            self.mapSize = mapSize
            self.used = used
            self.filesystemFree = filesystemFree
            self.maxMapSize = maxMapSize
        }
    }

    /// The spool's space use, counted on a read transaction (walks LMDB's free list: cheap, its
    /// entries are page-number runs). Any thread; does not block writers.
    public func spaceUsage() throws -> SpaceUsage {
        let (mapSize, used) = try read { txn in Self.lmdbMapUse(env: env, readTransaction: txn.txn) }
        var usage = SpaceUsage(mapSize: mapSize, used: used)
        usage.maxMapSize = options.maxMapSize
        var fs = statvfs()
        if statvfs(directory, &fs) == 0 {
            usage.filesystemFree = Int(fs.f_bavail) * Int(fs.f_frsize)
        }
        return usage
    }

    /// An LMDB environment's map size and the bytes in pages in use: pages ever written less the
    /// pages on its free list that new writes can reuse now (not those a long read pins), read in `readTransaction` (a read-only
    /// transaction of `env`, which the caller keeps open for the call). Shared with the raft
    /// store's free-space check (`LogBodyReader.availableBytes`). Any thread.
    public static func lmdbMapUse(env: OpaquePointer, readTransaction txn: OpaquePointer) -> (mapSize: Int, used: Int) {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        mdb_env_info(env, &info)
        mdb_env_stat(env, &stat)
        // The free list is database 0 (FREE_DBI): each value is a list of page numbers whose
        // first word is its length.
        // Its key is the id of the transaction that freed them: only pages a write can reuse now
        // count as free, not those a long read still pins (`SpoolStore+ReusablePages`).
        var records: [(freedBy: UInt64, pages: Int)] = []
        var cursorp: OpaquePointer?
        if mdb_cursor_open(txn, 0, &cursorp) == 0, let cursor = cursorp {
            var key = MDB_val()
            var value = MDB_val()
            var op = MDB_FIRST
            while mdb_cursor_get(cursor, &key, &value, op) == 0 {
                op = MDB_NEXT
                guard value.mv_size >= MemoryLayout<Int>.size, let data = value.mv_data,
                      key.mv_size >= MemoryLayout<UInt64>.size, let k = key.mv_data else { continue }
                records.append((k.loadUnaligned(as: UInt64.self), data.loadUnaligned(as: Int.self)))
            }
            mdb_cursor_close(cursor)
        }
        let freePages = records.isEmpty ? 0
            : reusablePages(records: records, lastCommitted: UInt64(info.me_last_txnid), readers: readerSnapshots(env: env))
        let pagesWritten = Int(info.me_last_pgno) + 1
        return (Int(info.me_mapsize), max(0, pagesWritten - freePages) * Int(stat.ms_psize))
    }
}
