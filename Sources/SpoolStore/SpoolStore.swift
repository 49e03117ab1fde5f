import CLMDB
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The spool's durable storage: one LMDB environment (a directory) holding the
/// local log, message records and bodies, the due-time queue, events with
/// their indexes and suppression lists.
///
/// Writes go through ``commit(_:appendToLog:)`` only, which must be called from
/// one thread at a time and must stay on that thread for the whole call (LMDB
/// write transactions are bound to their OS thread); ``LocalLog`` runs it on
/// its dedicated writer thread. Reads (`message`, `queueEntries`, `events`, …)
/// may be called from any thread concurrently: each uses its own read-only
/// transaction (the env is opened with `MDB_NOTLS`) and blocks only briefly.
///
/// `@unchecked Sendable` is sound because the only shared mutable state is the
/// `MDB_env` (thread-safe for this usage per LMDB's rules above) and the
/// `closed` flag, which is guarded by a reader-writer lock: every operation
/// holds it shared, `close()` holds it exclusive, so the env is never closed
/// under a running transaction.
public final class SpoolStore: @unchecked Sendable {
    /// Settings for opening the store.
    public struct Options: Sendable {
        /// Maximum size of the memory map (and so of the data file); sparse on disk. Default 16 GiB.
        public var mapSize: Int
        /// When false the environment is opened with `MDB_NOSYNC`: faster, but a
        /// machine crash (not a process crash) may lose recent commits.
        public var durable: Bool
        /// Maximum concurrent read transactions.
        public var maxReaders: UInt32
        /// Events whose search-index entries are written together: the commit that brings the
        /// not yet indexed tail to this many events indexes it (searches read the tail directly
        /// meanwhile). 1 indexes every event in its own commit. Default 512.
        public var eventIndexBatch: Int = 512
        /// Longest stored piece of a body, in bytes (`SpoolStore+Bodies.swift`); a body up to it is
        /// one LMDB value. Reading does not depend on it. Default
        /// ``SpoolStore/defaultBodySegmentSize`` (4080: one overflow page).
        public var bodySegmentSize: Int = SpoolStore.defaultBodySegmentSize
        /// Sums event count increments in one small meta value and adds them to the stored
        /// counts in batches (`SpoolStore+PendingStats.swift`); false bumps them in every commit.
        public var deferEventCounts = true

        /// Largest size the map grows to when it runs low (`SpoolStore+MapGrowth`), bounded by the
        /// filesystem's free space; at most `mapSize` (the default, 0) keeps the map fixed.
        public var maxMapSize: Int = 0

        /// Longest wait, in seconds, of a commit that found the map full for the env to be free
        /// to grow (operations of other threads to end). Past it the commit fails as full
        /// (`storageFull`: SMTP 452, and the cluster's applier retries it). Default 5.
        public var fullMapGrowthWait: Double = 5

        /// Creates options. Any thread.
        public init(mapSize: Int = 16 << 30, durable: Bool = true, maxReaders: UInt32 = 512) {
            self.mapSize = mapSize
            self.durable = durable
            self.maxReaders = maxReaders
        }
    }

    /// The directory holding `data.mdb` and `lock.mdb`.
    public let directory: String
    public let options: Options

    let env: OpaquePointer
    let dbMeta: MDB_dbi
    let dbLog: MDB_dbi
    let dbMessages: MDB_dbi
    let dbBodies: MDB_dbi
    let dbDue: MDB_dbi
    let dbEvents: MDB_dbi
    /// Secondary event indexes (recipient, sender, queue ID, type) in one table.
    let dbEventIndex: MDB_dbi
    let dbSuppression: MDB_dbi
    /// Control-plane records (`RegistryKeys` → `RegistryRecord` JSON).
    let dbRegistry: MDB_dbi
    /// Leased messages by lease owner (`SpoolKeys.lease`), so a restarted node finds its own leases
    /// without walking the queue. Added after layout version 1: stores written before have no
    /// entries for the leases they held then (those wait for their expiry, as before).
    let dbLeases: MDB_dbi
    /// Cluster bodies kept in the raft log: references by queue ID and pins by log index
    /// (`SpoolStore+LogBodies.swift`).
    let dbLogBodies: MDB_dbi
    /// Postponed messages by destination (`SpoolStore+PostponedIndex`), table 11.
    let dbPostponed: MDB_dbi
    /// Mail postponed by a build without the postponed table may be due up to this time (ms since
    /// the epoch; nil: the table covers every postponed message). See `SpoolStore+PostponedIndex`.
    public let legacyPostponedUntil: Int64?
    /// Reads bodies that stay in the raft log (set by the cluster log; nil on a single node).
    let logBodySource = Mutex<(any LogBodySource)?>(nil)

    /// The endpoints' webhook routes, kept between endpoint changes (`SpoolStore+WebhookRoutes`).
    let webhookRouteCache = WebhookRouteCache()
    /// Stored webhook calls per endpoint, for `webhookStats` (`SpoolStore+WebhookTally`).
    let webhookTally = WebhookTally()
    /// Map growth bookkeeping and its observer (`SpoolStore+MapGrowth`).
    let mapGrowth = MapGrowthState()

    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    private var closed = false
    /// Canonical path registered in `openDirectories` while open.
    private let canonicalPath: String

    /// Directories open in this process: LMDB must not open one environment twice.
    private static let openDirectories = Mutex<Set<String>>([])

    /// Opens (creating if needed) the store in `directory`. Blocks for file I/O;
    /// call once per directory per process (LMDB forbids opening the same
    /// environment twice in one process).
    public init(directory: String, options: Options = Options()) throws {
        self.directory = directory
        self.options = options
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError(.ioError, "cannot create directory: \(error)", context: directory)
        }
        let canonical = URL(fileURLWithPath: directory).resolvingSymlinksInPath().standardizedFileURL.path
        let registered = Self.openDirectories.withLock { $0.insert(canonical).inserted }
        guard registered else {
            throw StoreError(.alreadyOpen, "spool store already open in this process", context: canonical)
        }
        canonicalPath = canonical
        let env: OpaquePointer
        let dbis: [MDB_dbi]
        let legacy: Int64?
        do {
            (env, dbis, legacy) = try Self.openEnvironment(directory: directory, options: options)
        } catch {
            _ = Self.openDirectories.withLock { $0.remove(canonical) }
            throw error
        }
        self.env = env
        (dbMeta, dbLog, dbMessages, dbBodies, dbDue) = (dbis[0], dbis[1], dbis[2], dbis[3], dbis[4])
        (dbEvents, dbEventIndex, dbSuppression, dbRegistry) = (dbis[5], dbis[6], dbis[7], dbis[8])
        dbLeases = dbis[9]
        dbLogBodies = dbis[10]
        dbPostponed = dbis[11]
        legacyPostponedUntil = legacy
        lock = .allocate(capacity: 1)
        pthread_rwlock_init(lock, nil)
        try loadWebhookTally()
    }

    deinit {
        close()
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Closes the environment after running operations finish; later calls
    /// throw `.closed`. Idempotent. Blocks until in-flight transactions end.
    /// Stop the ``LocalLog`` first so no proposal is left waiting.
    public func close() {
        // A backup copy in progress steps out for it (`MapGrowthState.urgent`) and then finds the
        // store closed, rather than holding the close for the rest of the copy.
        _ = mapGrowth.lockExclusively(lock, timeout: nil, urgent: true)
        defer { pthread_rwlock_unlock(lock) }
        guard !closed else { return }
        closed = true
        mdb_env_close(env)
        _ = Self.openDirectories.withLock { $0.remove(canonicalPath) }
    }

    /// Runs `body` while the env is guaranteed open.
    func withOpenEnv<T>(_ body: () throws -> T) throws -> T {
        // A map growth waits for the env (the lock prefers readers): step aside so it gets it.
        mapGrowth.stepAside()
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        guard !closed else { throw StoreError(.closed, "spool store is closed", context: directory) }
        return try body()
    }

    /// Runs `body` while no other operation of this process runs on the env (no transaction is
    /// open: what `mdb_env_set_mapsize` needs). Waits at most `timeout` seconds when given (then
    /// returns nil without running `body`), else until the running operations end. `urgent`: a
    /// backup copy in progress steps out for it (`MapGrowthState.urgent`).
    func withExclusiveEnv<T>(timeout: Double? = nil, urgent: Bool = false, _ body: () throws -> T) throws -> T? {
        guard mapGrowth.lockExclusively(lock, timeout: timeout, urgent: urgent) else { return nil }
        defer { pthread_rwlock_unlock(lock) }
        guard !closed else { throw StoreError(.closed, "spool store is closed", context: directory) }
        return try body()
    }

    /// Runs `body` in a read-only transaction (any thread). A map grown by another process
    /// (`MDB_MAP_RESIZED`) is adopted and the transaction begun again.
    func read<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        var resized = false
        while true {
            do { return try readOnce(body) } catch let e as MapResized where !resized {
                _ = e
                resized = true
                try adoptMapSize()
            }
        }
    }

    private func readOnce<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        try withOpenEnv {
            var txnp: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txnp)
            if rc == MDB_MAP_RESIZED { throw MapResized() }
            guard rc == 0, let txn = txnp else { throw StoreError.lmdb(rc, "mdb_txn_begin (read)") }
            defer { mdb_txn_abort(txn) }
            return try body(LMDBTransaction(txn: txn))
        }
    }

    /// Writes a consistent, compacted copy of the whole store (as of one read
    /// snapshot) into `directory` (created if needed; must not already hold a
    /// store). For backups and Raft snapshots; open the copy with
    /// ``init(directory:options:)``. Blocks for the copy's I/O; writers keep running, and a map
    /// growth they need does not wait for the copy (`LMDBChunkedCopy`: the copy starts over
    /// after it). `batchBytes` and `onBatch` are for tests. Any thread.
    public func backup(to directory: String, batchBytes: Int = 8 << 20, onBatch: (() -> Void)? = nil) throws {
        var copy = LMDBChunkedCopy(tables: Array(zip(Self.tableNames, [dbMeta, dbLog, dbMessages, dbBodies, dbDue, dbEvents,
                                                                       dbEventIndex, dbSuppression, dbRegistry, dbLeases,
                                                                       dbLogBodies, dbPostponed])).map { (name: $0.0, dbi: $0.1) })
        copy.batchBytes = batchBytes
        copy.onBatch = onBatch
        try copy.run(env: env, to: directory, growth: mapGrowth, shared: { body in try withOpenEnv(body) },
                     adoptMapSize: { try adoptMapSize() })
    }

    // MARK: Reads

    /// The last applied log position (index 0, term 0 for a new store). Any thread; brief read.
    public func lastApplied() throws -> (index: UInt64, term: UInt64) {
        try read { txn in
            guard let v = try txn.get(dbMeta, SpoolKeys.applied) else { return (0, 0) }
            var r = BinaryReader(v, what: "applied position")
            return (try r.u64(), try r.u64())
        }
    }

    /// Metadata and per-recipient state of a queued message; nil when it is not
    /// (or no longer) in the queue. Any thread; brief read.
    public func message(id: String) throws -> StoredMessage? {
        guard SpoolKeys.isValidQueueID(id) else { return nil }
        return try read { txn in
            guard let v = try txn.get(dbMessages, SpoolKeys.message(id)) else { return nil }
            return try StoredMessage(decoding: v)
        }
    }

    /// Queue listing ordered by queue ID: up to `limit` entries with IDs
    /// greater than `after` (pass the last ID of the previous page). Any thread.
    public func queueEntries(limit: Int, after: String? = nil) throws -> [QueueEntry] {
        guard limit > 0 else { return [] }
        return try read { txn in
            let cursor = try txn.cursor(dbMessages)
            defer { cursor.close() }
            var out: [QueueEntry] = []
            var item: (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)?
            if let after {
                // Seek with at most a maximal queue ID's bytes (LMDB keys are bounded), then skip keys ≤ after.
                let bound = SpoolKeys.message(after)
                item = try cursor.seek(atLeast: Array(bound.prefix(SpoolMachine.maxQueueIDBytes)))
                while let cur = item, !bound.lexicographicallyPrecedes(cur.key) {
                    item = try cursor.get(MDB_NEXT)
                }
            } else {
                item = try cursor.get(MDB_FIRST)
            }
            while let cur = item, out.count < limit {
                out.append(QueueEntry(try StoredMessage(decoding: cur.value)))
                item = try cursor.get(MDB_NEXT)
            }
            return out
        }
    }

    /// Number of messages in the queue. Any thread; O(1).
    public func queueCount() throws -> Int {
        try read { try $0.entries(dbMessages) }
    }

    /// Entry counts of every table, by table name (diagnostics and tests). Any thread.
    public func tableCounts() throws -> [String: Int] {
        let tables: [(String, MDB_dbi)] = [
            ("meta", dbMeta), ("log", dbLog), ("messages", dbMessages), ("bodies", dbBodies), ("due", dbDue),
            ("events", dbEvents), ("event_index", dbEventIndex), ("suppression", dbSuppression), ("leases", dbLeases),
            ("logbodies", dbLogBodies), ("postponed", dbPostponed),
        ]
        return try read { txn in
            var out: [String: Int] = [:]
            for (name, dbi) in tables { out[name] = try txn.entries(dbi) }
            return out
        }
    }

    /// The message body, reassembled; nil when the message is not queued.
    /// Copies the whole body: use ``forEachBodyChunk(id:_:)`` for big bodies. Any thread.
    public func messageBody(id: String) throws -> [UInt8]? {
        var out: [UInt8] = []
        let found = try forEachBodyChunk(id: id, reserve: { out.reserveCapacity($0) }) { out.append(contentsOf: $0) }
        return found ? out : nil
    }

    /// A queued message's metadata and its body (copied), read in one transaction with one decode
    /// of the record: what a delivery attempt starts from, instead of `message(id:)` then
    /// `messageBody(id:)` (two transactions, the record decoded twice). nil when the message is
    /// not queued. Any thread; a brief read plus the body copy.
    public func messageAndBody(id: String) throws -> (message: StoredMessage, body: [UInt8])? {
        guard SpoolKeys.isValidQueueID(id) else { return nil }
        return try read { txn in
            guard let v = try txn.get(dbMessages, SpoolKeys.message(id)) else { return nil }
            let m = try StoredMessage(decoding: v)
            var body: [UInt8] = []
            body.reserveCapacity(m.bodySize)
            guard try bodyChunks(id, of: m, in: txn, { body.append(contentsOf: $0) }) else { return nil }
            return (m, body)
        }
    }

    /// Streams the body in its stored segments (see `SpoolStore+Bodies.swift`) to `chunk`, in
    /// order, without copying: each buffer is valid only during its call.
    /// Returns false when the message is not queued. Runs in one read
    /// transaction (a consistent snapshot); `chunk` must not call back into the store.
    @discardableResult
    public func forEachBodyChunk(id: String, _ chunk: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        try forEachBodyChunk(id: id, reserve: { _ in }, chunk)
    }

    private func forEachBodyChunk(id: String, reserve: (Int) -> Void,
                                  _ chunk: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        guard SpoolKeys.isValidQueueID(id) else { return false }
        return try read { txn in
            guard let v = try txn.get(dbMessages, SpoolKeys.message(id)) else { return false }
            let m = try StoredMessage(decoding: v)
            reserve(m.bodySize)
            return try bodyChunks(id, of: m, in: txn, chunk)
        }
    }

    /// The body of queued message `m` to `chunk`, from the log or the body table; false when the
    /// log no longer holds it.
    private func bodyChunks(_ id: String, of m: StoredMessage, in txn: LMDBTransaction,
                            _ chunk: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        if let ref = try logBodyRef(id, in: txn) { return try readLogBody(ref, queueID: id, chunk) }
        try forEachBodySegment(id, bodySize: m.bodySize, in: txn, chunk)
        return true
    }

    /// Queue IDs due for delivery at `now` (ms since epoch), earliest first:
    /// messages with a recipient due and no lease, or whose lease expired.
    /// Any thread.
    public func dueMessages(now: Int64, limit: Int) throws -> [String] {
        guard limit > 0 else { return [] }
        return try read { txn in
            let cursor = try txn.cursor(dbDue)
            defer { cursor.close() }
            var out: [String] = []
            var item = try cursor.get(MDB_FIRST)
            while let cur = item, out.count < limit {
                var r = BinaryReader(cur.key, what: "due key")
                guard SpoolKeys.unbiased(try r.u64()) <= now else { break }
                out.append(String(decoding: UnsafeRawBufferPointer(rebasing: cur.key[8...]), as: UTF8.self))
                item = try cursor.get(MDB_NEXT)
            }
            return out
        }
    }

    /// When the earliest queued message becomes due (ms since epoch), nil when
    /// the queue is empty: lets the delivery shell sleep until then. Any thread.
    public func nextDueTime() throws -> Int64? {
        try read { txn in
            let cursor = try txn.cursor(dbDue)
            defer { cursor.close() }
            guard let cur = try cursor.get(MDB_FIRST) else { return nil }
            var r = BinaryReader(cur.key, what: "due key")
            return SpoolKeys.unbiased(try r.u64())
        }
    }

    /// The suppression entry for `address` in `tenant`, or nil. Any thread.
    public func suppression(tenant: String, address: String) throws -> SpoolCommand.Suppression? {
        try read { txn in
            guard let v = try txn.get(dbSuppression, SpoolKeys.suppression(tenant: tenant, address: address)) else {
                return nil
            }
            var r = BinaryReader(v, what: "suppression record")
            return SpoolCommand.Suppression(tenant: tenant, address: SpoolMachine.asciiLowercased(address),
                                            reason: try r.string(), createdAt: try r.i64())
        }
    }

    /// Up to `limit` suppression entries of `tenant`, ordered by address. Any thread.
    public func suppressions(tenant: String, limit: Int) throws -> [SpoolCommand.Suppression] {
        guard limit > 0 else { return [] }
        return try read { txn in
            let prefix = SpoolKeys.suppression(tenant: tenant, address: "")
            let cursor = try txn.cursor(dbSuppression)
            defer { cursor.close() }
            var out: [SpoolCommand.Suppression] = []
            var item = try cursor.seek(atLeast: prefix)
            while let cur = item, cur.key.hasPrefix(prefix), out.count < limit {
                let address = String(decoding: UnsafeRawBufferPointer(rebasing: cur.key[prefix.count...]),
                                     as: UTF8.self)
                var r = BinaryReader(cur.value, what: "suppression record")
                out.append(SpoolCommand.Suppression(tenant: tenant, address: address, reason: try r.string(),
                                                    createdAt: try r.i64()))
                item = try cursor.get(MDB_NEXT)
            }
            return out
        }
    }

    /// The local log record at `index` (term and command; an enqueue comes back
    /// with `bodyElided` set since the local log does not repeat bodies), or nil.
    /// Any thread.
    public func logEntry(index: UInt64) throws -> LogEntry? {
        try read { txn in
            guard let v = try txn.get(dbLog, SpoolKeys.log(index)) else { return nil }
            var r = BinaryReader(v, what: "log record")
            let term = try r.u64()
            let command = try SpoolCommand(decoding: UnsafeRawBufferPointer(rebasing: v[8...]))
            return LogEntry(index: index, term: term, command: command)
        }
    }
}
