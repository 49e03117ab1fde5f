/// Collects messages to postpone (see `DestinationParking.Decision.postpone`) into batches: one
/// log command moves the due times of up to `batchSize` messages. A batch is handed out when it is
/// full, or when its oldest item waited `maxDelayMillis` (or the caller forces it at the end of a
/// scheduler pass). Messages held (pending or in a batch not yet committed) are skipped by the
/// scheduler; at most `maxHeld` are held, so memory stays bounded.
///
/// Time is passed in (ms since the epoch). Pure value; the scheduler keeps one on its queue.
public struct PostponeBatcher: Sendable {
    /// One message and its new due time (ms since the epoch).
    public struct Item: Sendable, Equatable {
        /// Queue ID.
        public var queueID: String
        /// New due time, ms since the epoch.
        public var at: Int64
        /// The message's due time when it was found due (ms since the epoch): the postpone leaves
        /// it alone if that changed before the batch applies (an operator's "retry now"). nil: no
        /// such check.
        public var seen: Int64?

        /// Creates an item. Pure.
        public init(queueID: String, at: Int64, seen: Int64? = nil) {
            self.queueID = queueID
            self.at = at
            self.seen = seen
        }
    }

    /// A batch to propose; report it back with `finished(_:)`.
    public struct Batch: Sendable, Equatable {
        /// Identifies the batch to `finished`.
        public var id: Int
        /// Its messages.
        public var items: [Item]
    }

    /// Most messages per batch.
    public let batchSize: Int
    /// Longest wait of a pending item before its batch is handed out.
    public let maxDelayMillis: Int64
    /// Most messages held at once (pending plus batches in flight).
    public let maxHeld: Int
    private var pending: [Item] = []
    private var pendingSince: Int64 = 0
    private var inFlight: [Int: [String]] = [:]
    private var held = Set<String>()
    private var nextID = 1

    /// Creates an empty batcher. Pure.
    public init(batchSize: Int = 1_024, maxDelayMillis: Int64 = 200, maxHeld: Int = 8_192) {
        self.batchSize = max(1, batchSize)
        self.maxDelayMillis = maxDelayMillis
        self.maxHeld = max(self.batchSize, maxHeld)
    }

    /// Whether `queueID` waits to be postponed. Pure.
    public func isHeld(_ queueID: String) -> Bool { held.contains(queueID) }

    /// Messages held now. Pure.
    public var heldCount: Int { held.count }

    /// Whether another message may be added. Pure.
    public var hasRoom: Bool { held.count < maxHeld }

    /// Adds `queueID` to postpone to `at` (`seen`: its due time as found, see `Item.seen`);
    /// returns the batch to propose when this filled it. A message already held, or one beyond
    /// `maxHeld`, is not added (returns nil). Pure.
    public mutating func add(_ queueID: String, at: Int64, seen: Int64? = nil, now: Int64) -> Batch? {
        guard hasRoom, held.insert(queueID).inserted else { return nil }
        if pending.isEmpty { pendingSince = now }
        pending.append(Item(queueID: queueID, at: at, seen: seen))
        return pending.count >= batchSize ? take() : nil
    }

    /// The pending batch when its oldest item waited `maxDelayMillis`, or at once with `force`
    /// (nil when nothing is pending). Pure.
    public mutating func flush(now: Int64, force: Bool = false) -> Batch? {
        guard !pending.isEmpty, force || now - pendingSince >= maxDelayMillis else { return nil }
        return take()
    }

    /// When the pending batch falls due (ms since the epoch), nil when nothing is pending. Pure.
    public func nextFlush() -> Int64? { pending.isEmpty ? nil : pendingSince + maxDelayMillis }

    /// The batch `id` was committed or failed: its messages are no longer held (a failed batch's
    /// messages are simply found due again). Pure.
    public mutating func finished(_ id: Int) {
        for queueID in inFlight.removeValue(forKey: id) ?? [] { held.remove(queueID) }
    }

    private mutating func take() -> Batch {
        let batch = Batch(id: nextID, items: pending)
        nextID += 1
        inFlight[batch.id] = pending.map(\.queueID)
        pending = []
        return batch
    }
}
