extension SpoolCommand {
    /// Moves the due time of many messages of destinations that are down later at once (a batched
    /// durable postpone, see `DestinationParking`): one small log entry per batch instead of a
    /// claim and a deferral outcome per message. For each item, every non-final recipient that is
    /// due at `issuedAt` gets `nextAttemptAt = max(nextAttemptAt, item.at)`; a message that is gone
    /// or holds a lease (expired or not: someone is or was attempting it) is left alone. Never makes
    /// anything due earlier, records no event and no attempt, so replaying it is harmless and a
    /// crash before it commits loses nothing. Written in log entry format 4 (tag 13).
    public struct Postpone: Sendable, Equatable {
        /// One message and its new due time.
        public struct Item: Sendable, Equatable {
            /// Queue ID.
            public var queueID: String
            /// New due time, ms since epoch (the scheduler caps it at the message's lifetime end).
            public var at: Int64

            /// Creates an item. Any thread.
            public init(queueID: String, at: Int64) {
                self.queueID = queueID
                self.at = at
            }
        }

        /// The proposer's clock, ms since epoch: only recipients due by then move.
        public var issuedAt: Int64
        /// The messages.
        public var items: [Item]

        /// Creates a postpone command. Any thread.
        public init(issuedAt: Int64, items: [Item]) {
            self.issuedAt = issuedAt
            self.items = items
        }

        func encode(into w: inout BinaryWriter) {
            w.i64(issuedAt)
            w.u32(UInt32(items.count))
            for item in items {
                w.string(item.queueID)
                w.i64(item.at)
            }
        }

        init(decoding r: inout BinaryReader) throws {
            issuedAt = try r.i64()
            let n = try r.count(minBytesEach: 12)
            items = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(Item(queueID: try r.string(), at: try r.i64())) }
        }
    }
}

extension SpoolMachine {
    /// `current` with its recipients due at `issuedAt` moved to `at` (never earlier), or nil when
    /// nothing changes (gone, leased, nothing due, or already due at `at` or later). Pure.
    public static func postponed(_ current: StoredMessage?, at: Int64, issuedAt: Int64) -> StoredMessage? {
        guard var m = current, m.lease == nil else { return nil }
        var changed = false
        for i in m.recipients.indices where !m.recipients[i].status.isFinal
            && m.recipients[i].nextAttemptAt <= issuedAt && m.recipients[i].nextAttemptAt < at {
            m.recipients[i].nextAttemptAt = at
            changed = true
        }
        return changed ? m : nil
    }
}
