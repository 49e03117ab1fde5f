import Foundation
import RaftCore
import SendarixSupport
import SpoolStore

/// Applies committed raft entries to the `SpoolStore` on a dedicated thread, so the raft loop
/// never waits for the spool's write transaction and fsync: while one batch is applied the loop
/// goes on persisting, replicating and acknowledging the next.
///
/// Every entry queued when the thread wakes goes into ONE `SpoolStore.commit` (one transaction,
/// one fsync). Entries that are not spool commands (leader no-ops, membership changes, member
/// records) are reported as applied with `.success` so waiters at their index are resolved.
/// After each batch `onApplied` runs on the applier thread with one result per entry, in index
/// order. A failing commit (disk full, I/O) is reported to `onError` and retried every 100 ms:
/// committed entries cannot be skipped. When the store is full, the batch is split and applied
/// entry by entry in order, so every entry ahead of the one that does not fit is applied (and its
/// waiters answered) instead of the whole batch retrying behind it.
///
/// `@unchecked Sendable` is sound: `queue`, `stopping` and `finished` are guarded by `condition`;
/// the store is written only by the applier thread.
final class SpoolApplier: @unchecked Sendable {
    /// The result of applying one entry.
    struct Applied: Sendable {
        var index: UInt64
        var term: UInt64
        var result: Result<Void, StoreError>
    }

    let store: SpoolStore
    /// First byte of log entries that are cluster metadata, not spool commands.
    let metadataTag: UInt8
    /// Enqueues keep their body in the log entry (`LogEntry.bodyOffset`) instead of a spool copy.
    let bodiesInLog: Bool
    private let onApplied: @Sendable ([Applied]) -> Void
    /// Runs (applier thread) once per applied batch that made mail due on this member: a new
    /// message, or a reschedule or pull forward. Whoever owns its destination may be another
    /// member than the one that accepted it, and nothing else tells that member's scheduler.
    private let onNewWork: @Sendable () -> Void
    private let onError: @Sendable (StoreError) -> Void
    private let condition = NSCondition()
    private var queue: [Raft.Entry] = []
    private var stopping = false
    private var finished = false
    private var isHeld = false
    /// The last commit failure (applier thread only).
    private var lastFailure: StoreError?

    /// Starts the applier thread. Does not block.
    init(store: SpoolStore, metadataTag: UInt8, bodiesInLog: Bool = false, threadNice: Int32 = 0,
         onApplied: @escaping @Sendable ([Applied]) -> Void, onNewWork: @escaping @Sendable () -> Void = {},
         onError: @escaping @Sendable (StoreError) -> Void) {
        self.store = store
        self.metadataTag = metadataTag
        self.bodiesInLog = bodiesInLog
        self.onApplied = onApplied
        self.onNewWork = onNewWork
        self.onError = onError
        let thread = Thread { [self] in
            ThreadPriority.name("raft-apply")
            if threadNice != 0 { ThreadPriority.setNice(threadNice) }
            run()
        }
        thread.name = "raft-apply"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Queues committed entries (in index order). Never blocks for long; any thread.
    func enqueue(_ entries: [Raft.Entry]) {
        guard !entries.isEmpty else { return }
        condition.lock()
        queue.append(contentsOf: entries)
        condition.signal()
        condition.unlock()
    }

    /// Tests: while true the thread applies nothing (entries queue up), as on a member still
    /// installing a snapshot. Any thread.
    var held: Bool {
        get {
            condition.lock()
            defer { condition.unlock() }
            return isHeld
        }
        set {
            condition.lock()
            isHeld = newValue
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Entries waiting to be applied. Any thread.
    var backlog: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count
    }

    /// Finishes the batch in progress and stops; entries still queued are left (Raft hands them
    /// out again after a restart, and the spool skips what it already applied). Blocks until the
    /// thread exits; idempotent.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while (queue.isEmpty || isHeld) && !stopping { condition.wait() }
            if stopping {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            var batch = queue[...]
            queue.removeAll(keepingCapacity: true)
            condition.unlock()
            while true {
                batch = batch.dropFirst(applyPrefix(batch))
                if batch.isEmpty { break }
                condition.lock()
                if !stopping { _ = condition.wait(until: Date().addingTimeInterval(0.1)) }
                let stop = stopping
                condition.unlock()
                if stop { break }
            }
        }
    }

    /// Applies as much of `batch` as the store takes, in order: all of it in one commit, or, when
    /// that commit finds the store full, entry by entry up to the first that does not fit. Returns
    /// how many entries were applied (and reported).
    private func applyPrefix(_ batch: ArraySlice<Raft.Entry>) -> Int {
        if apply(batch, reportFull: batch.count == 1) { return batch.count }
        guard batch.count > 1, lastFailure?.code == .storageFull else { return 0 }
        var applied = 0
        for i in batch.indices {
            guard apply(batch[i...i], reportFull: true) else { break }
            applied += 1
        }
        return applied
    }

    /// Whether applying `command` can have made mail due now.
    static func makesDue(_ command: SpoolCommand) -> Bool {
        switch command {
        case .enqueue, .reschedule, .pullForward: return true
        default: return false
        }
    }

    /// Applies one batch; false when the spool commit failed (nothing applied).
    private func apply(_ batch: ArraySlice<Raft.Entry>, reportFull: Bool) -> Bool {
        var logEntries: [LogEntry] = []
        logEntries.reserveCapacity(batch.count)
        var failures: [UInt64: StoreError] = [:]
        for e in batch where e.kind == .normal && !e.data.isEmpty && e.data[0] != metadataTag {
            do {
                var entry = LogEntry(index: e.index, term: e.term, command: try SpoolCommand(decoding: e.data))
                if bodiesInLog { entry.bodyOffset = Self.bodyOffset(of: entry.command, in: e.data) }
                logEntries.append(entry)
            } catch let error as StoreError where error.context == SpoolCommand.versionContext {
                // A command format from a newer release: skipping it would diverge from the other
                // members, so apply nothing and retry until this node is upgraded.
                lastFailure = StoreError(error.code, "raft entry \(e.index): \(error.reason)", context: error.context)
                onError(lastFailure!)
                return false
            } catch {
                failures[e.index] = StoreError(.invalidCommand, "undecodable log entry: \(error)", context: "raft \(e.index)")
            }
        }
        var results: [Result<Void, StoreError>] = []
        if !logEntries.isEmpty {
            do {
                results = try store.commit(logEntries, appendToLog: false)
            } catch let error as StoreError {
                lastFailure = error
                // A full store is retried entry by entry first; report it when that is what stops.
                if error.code != .storageFull || reportFull { onError(error) }
                return false
            } catch {
                lastFailure = StoreError(.internalError, "\(error)", context: "raft apply")
                onError(lastFailure!)
                return false
            }
        }
        var out: [Applied] = []
        out.reserveCapacity(batch.count)
        var next = 0
        var newWork = false
        for e in batch {
            var result: Result<Void, StoreError> = .success(())
            if let f = failures[e.index] {
                result = .failure(f)
            } else if next < logEntries.count, logEntries[next].index == e.index {
                result = results[next]
                if case .success = result, Self.makesDue(logEntries[next].command) { newWork = true }
                next += 1
            }
            out.append(Applied(index: e.index, term: e.term, result: result))
        }
        onApplied(out)
        if newWork { onNewWork() }
        return true
    }
}
