import CLMDB
import Dispatch
import Glibc
import SpoolStore

/// The raft store's map grows by itself, as the spool's does (`SpoolStore+MapGrowth`): with bodies
/// kept in the log (`cluster.bodiesInLog`) it holds every queued body, so a fixed map capped a
/// node's queue. `mdb_env_set_mapsize` remaps the environment and needs every transaction of the
/// process to have ended, so every use of the env holds `lock` shared (body reads on any thread,
/// the driving thread's transactions, backups) and a growth holds it exclusively.
///
/// Growth is bounded in time on the driving thread (it is the raft loop: heartbeats wait while it
/// blocks, and an election starts after about a second without them): a write that found the map
/// full waits at most `fullWait` seconds for the env, a growth ahead of need at most 100 ms. Readers hold the lock only for one short transaction; the only
/// long read, a backup copy (`LMDBChunkedCopy`), steps out as soon as a write that found the map
/// full waits (then its pinned pages are free again, which is all a map at its maximum can do) and
/// starts over after it; no growth ahead of need is tried while it runs. A write that still could
/// not be done fails like any storage error: the raft shell holds back and retries it every second
/// (`RaftLog.finishReady`).
extension LogBodyReader {
    /// Longest wait, in seconds, for the env when a write found the map full.
    static let fullWait = 0.5

    /// Calls `observer` with the old and new sizes (bytes) each time the map grows (the node logs
    /// `raft.map_grown`). Any thread.
    public func onMapGrown(_ observer: @escaping @Sendable (Int, Int) -> Void) {
        growth.observer.withLock { $0 = observer }
    }

    /// Times the raft map grew since the log was opened. Any thread.
    public var mapGrowthCount: Int { growth.grown.load(ordering: .relaxed) }

    /// Takes `lock` shared, throwing `.closed` once the log is closed; the caller unlocks. While a
    /// growth waits, steps aside first (`MapGrowthState.stepAside`). Any thread.
    func lockShared(context: String) throws(ClusterError) {
        growth.stepAside()
        pthread_rwlock_rdlock(lock)
        guard !closed else {
            pthread_rwlock_unlock(lock)
            throw ClusterError(.closed, "the raft log is closed", context: context)
        }
    }

    /// Runs `body` in a read-only transaction under the shared lock. A map another process grew
    /// (`MDB_MAP_RESIZED`) is adopted and the transaction begun again. Any thread.
    func withReadTransaction<T>(_ what: String, _ body: (OpaquePointer) throws -> T) throws -> T {
        var adopted = false
        while true {
            try lockShared(context: what)
            var txnp: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txnp)
            if rc == MDB_MAP_RESIZED && !adopted {
                pthread_rwlock_unlock(lock)
                adopted = true
                try adoptMapSize()
                continue
            }
            guard rc == 0, let txn = txnp else {
                pthread_rwlock_unlock(lock)
                throw RaftLogStorage.lmdbError(rc, what)
            }
            defer {
                mdb_txn_abort(txn)
                pthread_rwlock_unlock(lock)
            }
            return try body(txn)
        }
    }

    /// Runs `body` while no other use of the env runs (what `mdb_env_set_mapsize` needs). Waits at
    /// most `timeout` seconds when given (then returns nil without running `body`). Any thread
    /// holding no transaction of this env.
    /// `urgent`: a backup copy in progress steps out for it (`MapGrowthState.urgent`).
    func withExclusiveEnv<T>(timeout: Double?, urgent: Bool = false,
                             _ body: () throws(ClusterError) -> T) throws(ClusterError) -> T? {
        guard growth.lockExclusively(lock, timeout: timeout, urgent: urgent) else { return nil }
        defer { pthread_rwlock_unlock(lock) }
        guard !closed else { throw ClusterError(.closed, "the raft log is closed", context: "map growth") }
        return try body()
    }

    /// Adopts the map size another process set, waiting at most `timeout` seconds for the env
    /// (`fullWait` by default: the raft loop must not block for long; a backup copy steps out for
    /// it); a storage error when it could not. Any thread outside a transaction.
    func adoptMapSize(timeout: Double? = fullWait) throws(ClusterError) {
        let adopted = try withExclusiveEnv(timeout: timeout, urgent: true) { () throws(ClusterError) -> Bool in
            // Bounded by the maximum and the disk (`SpoolStore+MapAdoption`).
            do {
                try SpoolStore.MapGrowth.adopt(env: env, directory: directory, maxMapSize: maxMapSize)
            } catch {
                throw ClusterError(.storage, "\(error)", context: "mdb_env_set_mapsize (adopt)")
            }
            return true
        }
        guard adopted == true else {
            throw ClusterError(.storage, "the map was resized by another process and the env stayed busy for \(timeout ?? 0) s",
                               context: "mdb_env_set_mapsize (adopt)")
        }
    }

    /// For a write that found the map full: takes the env exclusively (at most `timeout`
    /// seconds), with long reads stepping out for it (`MapGrowthState.urgent`: a backup copy ends
    /// its read transaction, so the pages it kept from reuse are free again), and grows the map by
    /// `SpoolStore.MapGrowth.fullTarget` when it may still grow. True when it took the env (the
    /// write runs once more), grown or not. Writer (driving) thread, outside a transaction.
    func makeRoomForFullMap(needed: Int, timeout: Double?) throws(ClusterError) -> Bool {
        let usage: SpoolStore.SpaceUsage
        let written: Int
        do {
            usage = try spaceUsage()
            try lockShared(context: "map growth")
            written = SpoolStore.MapGrowth.writtenBytes(env: env)
            pthread_rwlock_unlock(lock)
        } catch let e as ClusterError {
            throw e
        } catch {
            throw ClusterError(.storage, "\(error)", context: "map growth")
        }
        let size = SpoolStore.MapGrowth.fullTarget(mapSize: usage.mapSize, written: written,
                                                   filesystemFree: usage.filesystemFree, maxMapSize: maxMapSize,
                                                   needed: needed)
        let grown = try withExclusiveEnv(timeout: timeout, urgent: true) { () throws(ClusterError) -> Bool in
            var info = MDB_envinfo()
            mdb_env_info(env, &info)
            guard let size, Int(info.me_mapsize) < size else { return false }
            let rc = mdb_env_set_mapsize(env, size)
            guard rc == 0 else { throw RaftLogStorage.lmdbError(rc, "mdb_env_set_mapsize \(size)") }
            return true
        }
        guard let grown else { return false }
        if grown, let size {
            growth.grown.add(1, ordering: .relaxed)
            growth.observer.withLock { $0 }?(usage.mapSize, size)
        }
        return true
    }

    /// Grows the map when `SpoolStore.MapGrowth.target` says so (less than a quarter left, or less
    /// than twice `needed`): to twice its size, or to fit four times `needed`, never past
    /// `maxMapSize` nor the filesystem's free space. Waits at most `timeout` seconds for the env.
    /// True when it grew. Writer (driving) thread, outside a transaction.
    @discardableResult
    func growMap(needed: Int, timeout: Double?) throws(ClusterError) -> Bool {
        guard maxMapSize > 0 else { return false }
        let usage: SpoolStore.SpaceUsage
        do {
            usage = try spaceUsage()
        } catch let e as ClusterError {
            throw e
        } catch {
            throw ClusterError(.storage, "\(error)", context: "map growth")
        }
        guard let size = SpoolStore.MapGrowth.target(mapSize: usage.mapSize, used: usage.used,
                                                     filesystemFree: usage.filesystemFree, maxMapSize: maxMapSize,
                                                     needed: needed) else { return false }
        let grown = try withExclusiveEnv(timeout: timeout) { () throws(ClusterError) -> Bool in
            var info = MDB_envinfo()
            mdb_env_info(env, &info)
            guard Int(info.me_mapsize) < size else { return false }
            let rc = mdb_env_set_mapsize(env, size)
            guard rc == 0 else { throw RaftLogStorage.lmdbError(rc, "mdb_env_set_mapsize \(size)") }
            return true
        }
        guard grown == true else { return false }
        growth.grown.add(1, ordering: .relaxed)
        growth.observer.withLock { $0 }?(usage.mapSize, size)
        return true
    }

    /// After a commit, at most every 250 ms: grows the map ahead of need when less than a quarter
    /// is left, waiting at most 100 ms for the env (the next check tries again); not while a backup
    /// copy runs (`MapGrowthState.longReads`: the raft loop would wait for nothing). Writer thread.
    func growAheadIfDue(needed: Int) {
        guard maxMapSize > 0, growth.longReads.load(ordering: .relaxed) == 0 else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - growth.lastCheck.load(ordering: .relaxed) >= 250_000_000 else { return }
        growth.lastCheck.store(now, ordering: .relaxed)
        _ = try? growMap(needed: needed, timeout: 0.1)
    }
}
