import CLMDB
import CSystemShims
import Dispatch
import Glibc
import Synchronization

/// Another process grew the map (`MDB_MAP_RESIZED`): adopt its size, then begin again.
struct MapResized: Error {}

/// Map growth bookkeeping of one LMDB environment (the spool's, or the raft log's through
/// `LogBodyReader`): when it was last checked, and who hears of a growth. Any thread.
public final class MapGrowthState: Sendable {
    /// Uptime (ns) of the last check after a commit.
    public let lastCheck = Atomic<UInt64>(0)
    /// Called with the old and new map sizes (bytes) after the map grew. Set once at start.
    public let observer = Mutex<(@Sendable (Int, Int) -> Void)?>(nil)
    /// Times the map grew.
    public let grown = Atomic<Int>(0)
    /// A growth waits for the env: new operations step aside for a moment (`stepAside`).
    public let waiting = Atomic<Bool>(false)
    /// Waits for the env that must not be held off by a long read: a growth (or retry) for a write
    /// that found the map full, an adoption of a size another process set, the env's closing.
    /// Long reads (`LMDBChunkedCopy`) end their transaction for these and start over after them;
    /// they do not for a growth ahead of need, which gives up after 100 ms and tries again later
    /// (a copy restarted by each of those could never finish). A count: these may overlap.
    public let urgent = Atomic<Int>(0)
    /// Long reads in progress (`LMDBChunkedCopy`). No growth ahead of need is tried while one
    /// runs: it could not get the env (the copy goes on for it), and while it waited for 100 ms the
    /// writer and every new operation would wait too, every 250 ms. A full map still grows.
    public let longReads = Atomic<Int>(0)
    /// Times the env was waited for exclusively (`lockExclusively`: growths, adoptions, closing).
    public let exclusiveWaits = Atomic<Int>(0)

    /// Creates the bookkeeping of a map that has not grown. Any thread.
    public init() {}

    /// Takes `lock` (an env's reader-writer lock) exclusively for a growth, with `waiting` set
    /// while it waits so that operations step aside (`stepAside`), and with `urgent` also counted
    /// when `urgent` is true so that long reads step out (`LMDBChunkedCopy`). Gives up after
    /// `timeout` seconds when given (a deadline on the monotonic clock). True when it took the
    /// lock; the caller unlocks it. Any thread holding no transaction of the env.
    public func lockExclusively(_ lock: UnsafeMutablePointer<pthread_rwlock_t>, timeout: Double?,
                                urgent: Bool = false) -> Bool {
        exclusiveWaits.add(1, ordering: .relaxed)
        waiting.store(true, ordering: .relaxed)
        if urgent { self.urgent.add(1, ordering: .relaxed) }
        defer {
            waiting.store(false, ordering: .relaxed)
            if urgent { self.urgent.subtract(1, ordering: .relaxed) }
        }
        guard let timeout else { return pthread_rwlock_wrlock(lock) == 0 }
        var deadline = Self.deadline(after: timeout)
        return sx_rwlock_wrlock_monotonic(lock, &deadline) == 0
    }

    /// The time `seconds` from now on the monotonic clock (`CLOCK_MONOTONIC`), which a change of
    /// the wall clock does not move. Any thread.
    static func deadline(after seconds: Double) -> timespec {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let nanos = Int(deadline.tv_nsec) + Int(seconds * 1e9)
        deadline.tv_sec += nanos / 1_000_000_000
        deadline.tv_nsec = nanos % 1_000_000_000
        return deadline
    }

    /// Called before an operation takes the env's lock shared: while a growth waits for the env,
    /// waits until it ran, for at most `limit` seconds. The lock prefers readers, so without this
    /// reads that keep overlapping would hold a growth off indefinitely; with it, a growth waits
    /// only for the operations already running. Bounded, never waiting for the growth itself: an
    /// operation nested in another (which holds the lock) goes on after `limit`. Any thread.
    public func stepAside(limit: Double = 0.1) {
        guard waiting.load(ordering: .relaxed) else { return }
        var waited = 0
        while waiting.load(ordering: .relaxed) && waited < Int(limit * 1_000) {
            usleep(1_000)
            waited += 1
        }
    }
}

extension SpoolStore {
    /// When and how far the map grows. Pure.
    public enum MapGrowth {
        /// Sizes are rounded to this (a multiple of every page size).
        public static let granule = 1 << 20

        /// The size to grow a map of `mapSize` bytes with `used` bytes in use to, or nil when it
        /// need not or cannot grow. It grows once less than a quarter of it, or less than twice
        /// `needed` (the commit at hand), is left: to twice its size, or to fit four times
        /// `needed` more, but never past `maxMapSize` nor past what the filesystem can still
        /// hold (`used` plus `filesystemFree`, when known). Pure.
        public static func target(mapSize: Int, used: Int, filesystemFree: Int?, maxMapSize: Int,
                                  needed: Int = 0) -> Int? {
            let free = mapSize - used
            guard free < mapSize / 4 || free < 2 * needed else { return nil }
            let want = max(mapSize * 2, used + 4 * needed)
            var cap = maxMapSize
            if let filesystemFree { cap = min(cap, used + filesystemFree) }
            let size = min(want.roundedUp(to: granule), cap / granule * granule)
            return size > mapSize ? size : nil
        }

        /// The size to grow a map of `mapSize` bytes that a write found full to: twice its size, or
        /// four times `needed` more, never past `maxMapSize` nor past what the filesystem can still
        /// hold (`written`, the bytes of the pages ever written, plus `filesystemFree`). Nil when it
        /// cannot grow. Unlike `target` it does not go by the pages in use: LMDB reuses a freed page
        /// only once no reader began before it was freed, so under a long read (a backup copy) the
        /// map fills while its free list is large. Pure.
        public static func fullTarget(mapSize: Int, written: Int, filesystemFree: Int?, maxMapSize: Int,
                                      needed: Int = 0) -> Int? {
            let want = max(mapSize * 2, mapSize + 4 * needed)
            var cap = maxMapSize
            if let filesystemFree { cap = min(cap, written + filesystemFree) }
            let size = min(want.roundedUp(to: granule), cap / granule * granule)
            return size > mapSize ? size : nil
        }

        /// Bytes of the pages ever written to `env` (its last page number plus one, times the page
        /// size: the data file's extent). Any thread using the env (open).
        public static func writtenBytes(env: OpaquePointer) -> Int {
            var info = MDB_envinfo()
            var stat = MDB_stat()
            mdb_env_info(env, &info)
            mdb_env_stat(env, &stat)
            return (Int(info.me_last_pgno) + 1) * Int(stat.ms_psize)
        }
    }

    /// Calls `observer` with the old and new sizes each time the map grows (the node logs
    /// `spool.map_grown`). Any thread.
    public func onMapGrown(_ observer: @escaping @Sendable (Int, Int) -> Void) {
        mapGrowth.observer.withLock { $0 = observer }
    }

    /// Times the map grew since the store was opened. Any thread.
    public var mapGrowthCount: Int { mapGrowth.grown.load(ordering: .relaxed) }

    /// Runs a write (`body`, a commit) and keeps the map large enough for it: a commit that
    /// found the map full grows it (waiting for the transactions of other threads to end, at most
    /// `Options.fullMapGrowthWait`; a backup copy steps out for it) and runs once more; after a commit the map is checked at most every 250 ms and grown ahead
    /// of need when less than a quarter of it is left (skipped if other threads keep the env
    /// busy for more than 100 ms, or while a backup copy runs: the next check tries again). Writer thread.
    func growingMap<T>(needed: Int, _ body: () throws -> T) throws -> T {
        let result: T
        do {
            result = try body()
        } catch is MapResized {
            try adoptMapSize()
            return try body()
        } catch let error as StoreError where error.code == .storageFull {
            guard try makeRoomForFullMap(needed: needed, timeout: options.fullMapGrowthWait) else { throw error }
            return try body()
        }
        let now = DispatchTime.now().uptimeNanoseconds
        if options.maxMapSize > options.mapSize, mapGrowth.longReads.load(ordering: .relaxed) == 0,
           now - mapGrowth.lastCheck.load(ordering: .relaxed) >= 250_000_000 {
            mapGrowth.lastCheck.store(now, ordering: .relaxed)
            _ = try? growMap(needed: needed, timeout: 0.1)
        }
        return result
    }

    /// Grows the map when `MapGrowth.target` says so. True when it grew. Takes the env
    /// exclusively (no transaction of this process is open then); with `timeout`, gives up
    /// after that many seconds of waiting. Writer thread (or with no writer running).
    @discardableResult
    public func growMap(needed: Int = 0, timeout: Double? = nil) throws -> Bool {
        guard options.maxMapSize > 0 else { return false }
        let usage = try spaceUsage()
        guard let size = MapGrowth.target(mapSize: usage.mapSize, used: usage.used, filesystemFree: usage.filesystemFree,
                                          maxMapSize: options.maxMapSize, needed: needed) else { return false }
        let grown: Bool? = try withExclusiveEnv(timeout: timeout) {
            var info = MDB_envinfo()
            mdb_env_info(env, &info)
            guard Int(info.me_mapsize) < size else { return false }
            let rc = mdb_env_set_mapsize(env, size)
            guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_env_set_mapsize \(size)") }
            return true
        }
        guard grown == true else { return false }
        mapGrowth.grown.add(1, ordering: .relaxed)
        let observer = mapGrowth.observer.withLock { $0 }
        observer?(usage.mapSize, size)
        return true
    }

    /// For a commit that found the map full: takes the env exclusively (at most `timeout`
    /// seconds), with long reads stepping out for it (`MapGrowthState.urgent`: a backup copy ends
    /// its read transaction, so the pages it kept from reuse are free again), and grows the map by
    /// `MapGrowth.fullTarget` when it may still grow. True when it took the env (the commit runs
    /// once more), grown or not. Writer thread.
    func makeRoomForFullMap(needed: Int, timeout: Double?) throws -> Bool {
        let usage = try spaceUsage()
        let written = try withOpenEnv { MapGrowth.writtenBytes(env: env) }
        let size = MapGrowth.fullTarget(mapSize: usage.mapSize, written: written, filesystemFree: usage.filesystemFree,
                                        maxMapSize: options.maxMapSize, needed: needed)
        let grown: Bool? = try withExclusiveEnv(timeout: timeout, urgent: true) {
            var info = MDB_envinfo()
            mdb_env_info(env, &info)
            guard let size, Int(info.me_mapsize) < size else { return false }
            let rc = mdb_env_set_mapsize(env, size)
            guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_env_set_mapsize \(size)") }
            return true
        }
        guard let grown else { return false }
        if grown, let size {
            mapGrowth.grown.add(1, ordering: .relaxed)
            mapGrowth.observer.withLock { $0 }?(usage.mapSize, size)
        }
        return true
    }

    /// Adopts a map size another process set, bounded by the maximum and the disk
    /// (`SpoolStore+MapAdoption`), with no transaction of this process open. Any thread outside a
    /// transaction.
    func adoptMapSize() throws {
        _ = try withExclusiveEnv(urgent: true) {
            try MapGrowth.adopt(env: env, directory: directory, maxMapSize: options.maxMapSize)
        }
    }
}

extension Int {
    /// The smallest multiple of `granule` at or above this. Pure.
    func roundedUp(to granule: Int) -> Int { (self + granule - 1) / granule * granule }
}
