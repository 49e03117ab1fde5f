import Foundation
import SpoolStore
import Synchronization

/// Admission control in front of the log: a new message is proposed only while the spool keeps
/// `reserve` bytes free after it, else it fails at once with `.storageFull` (SMTP `452 4.3.1`,
/// the client retries). Everything else (outcomes, deletes, claims: what frees space or needs
/// little) passes, so a nearly full spool still drains and never wedges behind enqueues that can
/// no longer be applied.
///
/// The space figure is read from LMDB at most every `refreshMillis` (cheap, but not per message).
/// Thread-safe.
final class SpoolAdmission: ReplicatedLog {
    let base: any ReplicatedLog
    let store: SpoolStore
    let reserve: Int
    let refreshMillis: Int64
    private let cached = Mutex<(at: Int64, available: Int)?>(nil)
    /// Called with the figures when less than a quarter of the map, or four times the reserve, is
    /// left (long before new messages get 452), at most every `warnEveryMillis`.
    let lowSpace: (@Sendable (SpoolStore.SpaceUsage) -> Void)?
    let warnEveryMillis: Int64
    private let lastWarning = Mutex<Int64>(Int64.min / 2)
    /// Free bytes of another store every enqueue also fills (a cluster node's raft map, which keeps
    /// the bodies of queued messages): new messages are refused when either runs low. Nil: none.
    let otherAvailable: (@Sendable () -> Int?)?

    /// Wraps `base`; `reserve` in bytes. Any thread.
    init(base: any ReplicatedLog, store: SpoolStore, reserve: Int, refreshMillis: Int64 = 200,
         warnEveryMillis: Int64 = 600_000, lowSpace: (@Sendable (SpoolStore.SpaceUsage) -> Void)? = nil,
         otherAvailable: (@Sendable () -> Int?)? = nil) {
        self.base = base
        self.otherAvailable = otherAvailable
        self.store = store
        self.reserve = reserve
        self.refreshMillis = refreshMillis
        self.warnEveryMillis = warnEveryMillis
        self.lowSpace = lowSpace
    }

    /// The wrapped log's entry format. Any thread.
    var entryFormat: UInt8 { base.entryFormat }

    /// Proposes `command`, refusing new messages that would eat into the reserve. Never blocks
    /// for long (a read transaction at most every `refreshMillis`); any thread.
    func propose(_ command: SpoolCommand, completion: @escaping @Sendable (Result<UInt64, StoreError>) -> Void) {
        if case .enqueue(let e) = command {
            // LMDB stores a body in its own pages plus the record and index entries: count twice
            // the body to stay on the safe side of copy-on-write during the commit.
            let needed = 2 * command.approximateSize
            let available = availableBytes()
            warnIfLow(available - needed)
            if available - needed < reserve {
                completion(.failure(StoreError(.storageFull, "spool or raft log nearly full: \(available >> 20) MiB left, "
                                               + "\(reserve >> 20) MiB kept for deliveries and deletes", context: e.queueID)))
                return
            }
            // Count this message against the cached figure until the next refresh.
            cached.withLock { if $0 != nil { $0!.available -= needed } }
        }
        base.propose(command, completion: completion)
    }

    private func availableBytes() -> Int {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        if let c = cached.withLock({ $0 }), now - c.at < refreshMillis { return c.available }
        // On an error reading the figure, admit: the commit itself still fails cleanly when full.
        let other = otherAvailable?() ?? Int.max / 2
        guard let usage = try? store.spaceUsage() else {
            cached.withLock { $0 = (now, other) }
            return other
        }
        let available = min(usage.available, other)
        cached.withLock { $0 = (now, available) }
        return available
    }

    /// Calls `lowSpace` (at most every `warnEveryMillis`) when `available` bytes, the figure the
    /// admission decision used, are below a quarter of the map or four times the reserve.
    private func warnIfLow(_ available: Int) {
        // `available` counts what the map may still grow into (bounded by the disk): warn once less
        // than a quarter of the configured map size is left of that.
        guard let lowSpace, available < max(store.options.mapSize / 4, 4 * reserve) else { return }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let due = lastWarning.withLock { last -> Bool in
            guard now - last >= warnEveryMillis else { return false }
            last = now
            return true
        }
        guard due else { return }
        guard var usage = try? store.spaceUsage() else { return }
        // The admission figure counts the messages admitted since the last read.
        usage.used = max(usage.used, usage.mapSize - available)
        lowSpace(usage)
    }
}
