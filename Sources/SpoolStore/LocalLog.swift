import Foundation
import Registry
import SendarixSupport

/// The single-node ``ReplicatedLog``: a dedicated writer thread that commits
/// proposals to the ``SpoolStore`` with group commit.
///
/// Every proposal waiting when the writer wakes goes into ONE write
/// transaction (append log record + apply to the spool state) and ONE fsync,
/// bounded by ``Options/maxBatchCount`` and ``Options/maxBatchBytes``; then all
/// their completions run on the writer thread. Log indexes continue from the
/// store's last applied index; the term is always 0. Enqueue log records do
/// not repeat the body (the applied message holds it), so the local log is an
/// audit trail and position counter, not a replay source for bodies.
///
/// Every commit copies the leaf and branch pages it touches in each table
/// (LMDB copy-on-write), so bytes written per message fall as batches grow.
/// Delivery bookkeeping (claims and outcomes) has no client waiting on it:
/// when only such proposals are pending the writer lingers up to
/// ``Options/backgroundLinger`` for more, and the first proposal of any other
/// kind (an enqueue waiting for its 250) ends the wait at once, so claims and
/// outcomes ride in the commits of the mail being accepted.
///
/// `@unchecked Sendable` is sound: all mutable state (`pending`, counters,
/// `stopping`) is guarded by `condition`; `nextIndex` is touched only by the
/// writer thread (and by `init` before it starts).
public final class LocalLog: ReplicatedLog, @unchecked Sendable {
    /// Batch limits and log retention.
    public struct Options: Sendable {
        /// Most proposals in one transaction.
        public var maxBatchCount: Int
        /// Most (approximate) bytes in one transaction; a single larger proposal still goes alone.
        public var maxBatchBytes: Int
        /// Local log records kept (older ones are trimmed as new ones are written).
        public var retainedLogEntries: UInt64
        /// Longest wait, seconds, for more proposals while only claims and outcomes are pending
        /// (0: commit at once).
        public var backgroundLinger: Double
        /// The writer thread's nice value (`spool.writerNice`; 0: left as inherited). Every accept
        /// waits for this thread's commit, so on a busy machine it should run first. A value the
        /// process may not set is left alone (check with `ThreadPriority.probe` first).
        public var writerNice: Int32

        /// Creates options. Any thread.
        public init(maxBatchCount: Int = 1024, maxBatchBytes: Int = 64 << 20, retainedLogEntries: UInt64 = 1_000_000,
                    backgroundLinger: Double = 0.005, writerNice: Int32 = 0) {
            self.maxBatchCount = maxBatchCount
            self.maxBatchBytes = maxBatchBytes
            self.retainedLogEntries = retainedLogEntries
            self.backgroundLinger = backgroundLinger
            self.writerNice = writerNice
        }
    }

    /// Counters for observing group commit.
    public struct Statistics: Sendable, Equatable {
        /// Write transactions committed (or attempted) by the writer.
        public var transactions: Int
        /// Proposals those transactions carried.
        public var proposals: Int
        /// Largest batch so far.
        public var largestBatch: Int
        /// Total time spent committing (write transaction + fsync), nanoseconds;
        /// divide by `transactions` for the mean commit latency.
        public var commitNanoseconds: UInt64 = 0
        /// Times the writer waited for more proposals behind background ones.
        public var lingers: Int = 0

        /// Creates statistics. Any thread.
        public init(transactions: Int, proposals: Int, largestBatch: Int, commitNanoseconds: UInt64 = 0, lingers: Int = 0) {
            self.transactions = transactions
            self.proposals = proposals
            self.largestBatch = largestBatch
            self.commitNanoseconds = commitNanoseconds
            self.lingers = lingers
        }
    }

    private struct Pending {
        let command: SpoolCommand
        let completion: @Sendable (Result<UInt64, StoreError>) -> Void
    }

    public let store: SpoolStore
    public let options: Options
    private let condition = NSCondition()
    private var pending: [Pending] = []
    /// Proposals in `pending` that are not delivery bookkeeping (see ``isBackground(_:)``).
    private var urgentPending = 0
    private var lingering = false
    private var stopping = false
    private var finished = false
    private var held = false
    private var stats = Statistics(transactions: 0, proposals: 0, largestBatch: 0)
    private var nextIndex: UInt64
    private var thread: Thread?

    /// Starts the writer thread; indexes continue after `store.lastApplied()`.
    /// Blocks briefly (one read). One `LocalLog` per store. The running writer
    /// thread keeps the log alive: call ``stop()`` to end it.
    public init(store: SpoolStore, options: Options = Options()) throws {
        self.store = store
        self.options = options
        self.nextIndex = try store.lastApplied().index + 1
        let thread = Thread { [unowned self] in self.writerLoop() }
        thread.name = "spool-writer"
        thread.stackSize = 1 << 20
        self.thread = thread
        thread.start()
    }

    /// See ``ReplicatedLog/propose(_:completion:)``. Never blocks; after
    /// ``stop()`` the completion runs at once with `.closed`.
    public func propose(_ command: SpoolCommand,
                        completion: @escaping @Sendable (Result<UInt64, StoreError>) -> Void) {
        condition.lock()
        if stopping {
            condition.unlock()
            completion(.failure(StoreError(.closed, "local log stopped", context: "propose")))
            return
        }
        pending.append(Pending(command: command, completion: completion))
        if !Self.isBackground(command) { urgentPending += 1 }
        condition.signal()
        condition.unlock()
    }

    /// Group-commit counters. Any thread.
    public var statistics: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return stats
    }

    /// Commits what is already proposed, then stops the writer thread and
    /// waits for it to exit. Later proposals fail with `.closed`. Idempotent;
    /// blocks; do not call from a completion.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    /// Whether the writer is waiting for more proposals behind background ones (tests). Any thread.
    var isLingering: Bool {
        condition.lock()
        defer { condition.unlock() }
        return lingering
    }

    /// Proposals waiting for the writer. Any thread.
    var pendingCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return pending.count
    }

    /// Makes the writer leave proposals waiting until ``release()`` (tests use
    /// it to build a batch deterministically). ``stop()`` overrides it. Any thread.
    func hold() {
        condition.lock()
        held = true
        condition.unlock()
    }

    /// Lets a held writer continue. Any thread.
    func release() {
        condition.lock()
        held = false
        condition.broadcast()
        condition.unlock()
    }

    private func writerLoop() {
        ThreadPriority.name("spool-writer")
        if options.writerNice != 0 { ThreadPriority.setNice(options.writerNice) }
        var batch: [Pending] = []
        while true {
            condition.lock()
            while (pending.isEmpty || held) && !stopping { condition.wait() }
            if pending.isEmpty {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            lingerForMore()
            if held && !stopping {
                condition.unlock()
                continue
            }
            takeBatch(into: &batch)
            stats.transactions += 1
            stats.proposals += batch.count
            stats.largestBatch = max(stats.largestBatch, batch.count)
            condition.unlock()
            let start = ContinuousClock.now
            commit(batch)
            let elapsed = (ContinuousClock.now - start).components
            condition.lock()
            stats.commitNanoseconds &+= UInt64(elapsed.seconds) &* 1_000_000_000
                &+ UInt64(elapsed.attoseconds / 1_000_000_000)
            condition.unlock()
            batch.removeAll(keepingCapacity: true)
        }
    }

    /// Claims and outcomes, and the webhook dispatcher's results: proposals no client waits on
    /// (webhook results ride in the commits of the mail being accepted instead of cutting the
    /// linger with commits of its own). The dispatcher's leases (`claim`, `leaseBatches`) are not
    /// background: it waits for each, one endpoint after another, and with no mail to join each
    /// would wait out the whole linger. Any thread.
    static func isBackground(_ command: SpoolCommand) -> Bool {
        switch command {
        case .claim, .outcome: true
        case .registry(.webhook(.results)), .registry(.webhook(.batchResults)): true
        default: false
        }
    }

    /// While only background proposals are pending, waits up to ``Options/backgroundLinger``
    /// for more (lock held): an urgent proposal, a full batch, ``stop()`` or ``hold()`` ends
    /// the wait.
    private func lingerForMore() {
        guard options.backgroundLinger > 0, urgentPending == 0, !stopping, !held else { return }
        let deadline = Date().addingTimeInterval(options.backgroundLinger)
        stats.lingers += 1
        lingering = true
        defer { lingering = false }
        while urgentPending == 0 && !stopping && !held && pending.count < options.maxBatchCount {
            if !condition.wait(until: deadline) { return }
        }
    }

    /// Moves the next batch from `pending` into `batch` (lock held).
    private func takeBatch(into batch: inout [Pending]) {
        var bytes = 0
        var n = 0
        for p in pending {
            let size = p.command.approximateSize
            if n > 0 && (n >= options.maxBatchCount || bytes + size > options.maxBatchBytes) { break }
            bytes += size
            n += 1
        }
        if n == pending.count {
            swap(&batch, &pending)
            urgentPending = 0
        } else {
            batch.append(contentsOf: pending[0..<n])
            pending.removeFirst(n)
            urgentPending = pending.reduce(0) { $0 + (Self.isBackground($1.command) ? 0 : 1) }
        }
    }

    /// Commits `batch` in one transaction. If the store is full and the batch
    /// holds several commands, falls back to committing the non-enqueue
    /// commands together (outcomes and deletes free space, so they must not be
    /// starved by enqueues that do not fit) and then each enqueue on its own.
    private func commit(_ batch: [Pending]) {
        do {
            try commitOrThrow(batch)
        } catch let error where error.code == .storageFull && batch.count > 1 {
            var others: [Pending] = []
            var enqueues: [Pending] = []
            for p in batch {
                if case .enqueue = p.command { enqueues.append(p) } else { others.append(p) }
            }
            if !others.isEmpty { commitReporting(others) }
            for p in enqueues { commitReporting([p]) }
        } catch {
            for p in batch { p.completion(.failure(error)) }
        }
    }

    private func commitReporting(_ batch: [Pending]) {
        do {
            try commitOrThrow(batch)
        } catch {
            for p in batch { p.completion(.failure(error)) }
        }
    }

    /// One transaction for `batch`; on success runs every completion, on a
    /// thrown error runs none (nothing was stored; indexes are not consumed).
    private func commitOrThrow(_ batch: [Pending]) throws(StoreError) {
        let first = nextIndex
        var entries: [LogEntry] = []
        entries.reserveCapacity(batch.count)
        for (i, p) in batch.enumerated() {
            entries.append(LogEntry(index: first + UInt64(i), term: 0, command: p.command))
        }
        let last = first + UInt64(batch.count) - 1
        let trim = last > options.retainedLogEntries ? last - options.retainedLogEntries : 0
        let results: [Result<Void, StoreError>]
        do {
            results = try store.commit(entries, appendToLog: true, trimLogBefore: trim)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.internalError, "\(error)", context: "commit")
        }
        nextIndex = last + 1
        for (i, p) in batch.enumerated() {
            switch results[i] {
            case .success: p.completion(.success(entries[i].index))
            case .failure(let e): p.completion(.failure(e))
            }
        }
    }
}
