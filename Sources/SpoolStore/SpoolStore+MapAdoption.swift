import CLMDB
import Glibc

/// Adopting a map size another process set (`MDB_MAP_RESIZED`), within bounds.
///
/// `mdb_env_set_mapsize(env, 0)` maps whatever size the newest meta page holds: a size another
/// process (or a damaged file) wrote, with no bound. A size past the address space fails the
/// mapping and leaves the env unmapped. So this process reads that size itself and maps no more
/// than its own maximum (`Options.maxMapSize`, when set) and than the file and the filesystem can
/// hold, and never less than the pages written (it must map them to read them); when those pages
/// already lie past its maximum it fails with a storage error and leaves the env as it was.
extension SpoolStore.MapGrowth {
    /// The map size to adopt: `metaMapSize` (what the other process set), at most `maxMapSize` (0:
    /// none configured; never below `currentMapSize`) and `fileSize` plus `filesystemFree` (when
    /// known), rounded down to the granule, and at least `extent` (the pages written) and
    /// `currentMapSize`. Nil when `extent` lies past the maximum. Pure.
    public static func adoptTarget(metaMapSize: Int, extent: Int, currentMapSize: Int, maxMapSize: Int,
                                   fileSize: Int, filesystemFree: Int?) -> Int? {
        var size = metaMapSize
        if maxMapSize > 0 {
            let cap = max(maxMapSize, currentMapSize)
            guard extent <= cap else { return nil }
            size = min(size, cap)
        }
        if let filesystemFree { size = min(size, fileSize + filesystemFree) }
        if size % granule != 0 && size > granule { size = size / granule * granule }
        return max(size, extent, currentMapSize)
    }

    /// The map size in `env`'s newest meta page (set by the last writer, in any process), read
    /// from the data file; nil when unreadable. Any thread using the env (open).
    public static func metaMapSize(env: OpaquePointer) -> Int? {
        var fd: Int32 = -1
        var pages = MDB_stat()
        guard mdb_env_get_fd(env, &fd) == 0, fd >= 0, mdb_env_stat(env, &pages) == 0 else { return nil }
        // A meta page: the page header (16 bytes), then mm_magic, mm_version, mm_address,
        // mm_mapsize (at 32), two MDB_db (48 bytes each), mm_last_pg and mm_txnid (at 144).
        var best: (txnid: UInt64, mapSize: Int)?
        for page in 0..<2 {
            var buf = [UInt8](repeating: 0, count: 152)
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 152, off_t(page * Int(pages.ms_psize))) }
            guard n == 152 else { continue }
            let (magic, mapSize, txnid) = buf.withUnsafeBytes {
                ($0.loadUnaligned(fromByteOffset: 16, as: UInt32.self), $0.loadUnaligned(fromByteOffset: 32, as: UInt64.self),
                 $0.loadUnaligned(fromByteOffset: 144, as: UInt64.self))
            }
            guard magic == 0xBEEF_C0DE, mapSize <= UInt64(Int.max) else { continue }
            if best == nil || txnid > best!.txnid { best = (txnid, Int(mapSize)) }
        }
        return best?.mapSize
    }

    /// Adopts the size another process set, bounded by `adoptTarget`: reads the newest meta page
    /// and sets the size. Throws a `StoreError` (nothing changed) when the pages written lie past
    /// `maxMapSize` or LMDB refuses. `directory` is the env's (its filesystem bounds the size).
    /// Any thread holding the env exclusively.
    public static func adopt(env: OpaquePointer, directory: String, maxMapSize: Int) throws {
        var info = MDB_envinfo()
        var pages = MDB_stat()
        mdb_env_info(env, &info)
        mdb_env_stat(env, &pages)
        let extent = (Int(info.me_last_pgno) + 1) * Int(pages.ms_psize)
        var fd: Int32 = -1
        var st = stat()
        let fileSize = mdb_env_get_fd(env, &fd) == 0 && fstat(fd, &st) == 0 ? Int(st.st_size) : extent
        var fs = statvfs()
        let free = statvfs(directory, &fs) == 0 ? Int(fs.f_bavail) * Int(fs.f_frsize) : nil
        let meta = metaMapSize(env: env) ?? extent
        guard let size = adoptTarget(metaMapSize: meta, extent: extent, currentMapSize: Int(info.me_mapsize),
                                     maxMapSize: maxMapSize, fileSize: fileSize, filesystemFree: free) else {
            throw StoreError(.storageFull, "another process wrote the map to \(extent) bytes, past this process's maximum map size \(maxMapSize)",
                             context: "mdb_env_set_mapsize (adopt)")
        }
        let rc = mdb_env_set_mapsize(env, size)
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_env_set_mapsize (adopt) \(size)") }
    }
}
