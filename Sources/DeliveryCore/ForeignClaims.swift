/// Due messages a cluster node last found to be another node's work, so that its scheduler
/// passes skip them without reading and decoding each one again.
///
/// In a cluster every member has every message in its spool and its due index, but each
/// destination domain is delivered by one member (`preferredOwner`). Without this memory a member
/// re-read the head of the due index on every pass (every accepted message wakes the scheduler)
/// and decoded each of those messages only to find again that its domain maps elsewhere or that
/// another member holds its lease: with a backlog for one domain that was over a third of the
/// cluster's CPU while accepting mail.
///
/// An entry says "not mine" for one message until `recheckAt`; one with a `domain` is also
/// re-asked on every pass whether the domain now maps to this node (the live members changed),
/// which costs one lookup per domain per pass, not a read per message. Skipping only ever delays
/// a claim (never allows one), so a stale entry cannot deliver anything twice; `recheckAt` bounds
/// the delay for the cases the domain lookup cannot see (a lease that runs out, an orphan).
///
/// Memory is bounded by `capacity` entries whatever the queue depth: when full, entries past their
/// recheck time go first, then all of them (the next passes read those messages again).
///
/// Pure value; the delivery scheduler keeps one and touches it from its queue only. Times are
/// milliseconds since the epoch, passed in.
public struct ForeignClaims: Sendable {
    /// Why a message is not this node's for now.
    public struct Entry: Sendable, Equatable {
        /// The ownership key (the recipient domain) to re-ask each pass; nil: skip regardless of
        /// ownership (another member holds a live lease on the message).
        public var domain: String?
        /// From this time on the message is read again.
        public var recheckAt: Int64

        /// Creates an entry.
        public init(domain: String?, recheckAt: Int64) {
            self.domain = domain
            self.recheckAt = recheckAt
        }
    }

    /// Most entries held.
    public let capacity: Int
    /// Queue id → why it is skipped.
    public private(set) var entries: [String: Entry] = [:]

    /// An empty memory of at most `capacity` (at least 1) entries.
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Number of messages remembered.
    public var count: Int { entries.count }

    /// Remembers that message `id` is another node's until `recheckAt` (and, with a `domain`, for
    /// as long as that domain maps elsewhere).
    public mutating func note(_ id: String, domain: String?, recheckAt: Int64, now: Int64) {
        if entries[id] == nil && entries.count >= capacity {
            entries = entries.filter { $0.value.recheckAt > now }
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        }
        entries[id] = Entry(domain: domain, recheckAt: recheckAt)
    }

    /// Forgets message `id` (it is claimed here, or gone).
    public mutating func forget(_ id: String) {
        entries[id] = nil
    }

    /// Whether a pass at `now` skips message `id` without reading it. `isMine` answers whether a
    /// domain maps to this node now (the caller caches it per pass). An entry past its recheck
    /// time, or whose domain now maps here, is dropped and the message read again.
    public mutating func skips(_ id: String, now: Int64, isMine: (String) -> Bool) -> Bool {
        guard let e = entries[id] else { return false }
        if e.recheckAt <= now || (e.domain.map(isMine) ?? false) {
            entries[id] = nil
            return false
        }
        return true
    }
}
