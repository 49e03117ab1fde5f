import CLMDB
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
    /// A growth waits for the env: new operations step aside for a moment, and long reads
    /// (`LMDBChunkedCopy`) end their transaction and start over after it.
    public let waiting = Atomic<Bool>(false)

    /// Creates the bookkeeping of a map that has not grown. Any thread.
    public init() {}

    /// Takes `lock` (an env's reader-writer lock) exclusively for a growth, with `waiting` set
    /// while it waits so that operations step aside (`stepAside`) and long reads step out
    /// (`LMDBChunkedCopy`). Gives up after `timeout` seconds when given. True when it took the
    /// lock; the caller unlocks it. Any thread holding no transaction of the env.
    public func lockExclusively(_ lock: UnsafeMutablePointer<pthread_rwlock_t>, timeout: Double?) -> Bool {
        waiting.store(true, ordering: .relaxed)
        defer { waiting.store(false, ordering: .relaxed) }
        guard let timeout else { return pthread_rwlock_wrlock(lock) == 0 }
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let nanos = Int(deadline.tv_nsec) + Int(timeout * 1e9)
        deadline.tv_sec += nanos / 1_000_000_000
        deadline.tv_nsec = nanos % 1_000_000_000
        return pthread_rwlock_timedwrlock(lock, &deadline) == 0
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
    /// busy for more than 100 ms: the next check tries again). Writer thread.
    func growingMap<T>(needed: Int, _ body: () throws -> T) throws -> T {
        let result: T
        do {
            result = try body()
        } catch is MapResized {
            try adoptMapSize()
            return try body()
        } catch let error as StoreError where error.code == .storageFull {
            guard try growMap(needed: needed, timeout: options.fullMapGrowthWait) else { throw error }
            return try body()
        }
        let now = DispatchTime.now().uptimeNanoseconds
        if options.maxMapSize > options.mapSize, now - mapGrowth.lastCheck.load(ordering: .relaxed) >= 250_000_000 {
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

    /// Adopts a map size another process set (`mdb_env_set_mapsize(env, 0)`), with no
    /// transaction of this process open. Any thread outside a transaction.
    func adoptMapSize() throws {
        _ = try withExclusiveEnv {
            let rc = mdb_env_set_mapsize(env, 0)
            guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_env_set_mapsize (adopt)") }
        }
    }
}

extension Int {
    /// The smallest multiple of `granule` at or above this. Pure.
    func roundedUp(to granule: Int) -> Int { (self + granule - 1) / granule * granule }
}
