extension SpoolCommand {
    /// Moves the due time of many messages of destinations that are down later at once (a batched
    /// durable postpone, see `DestinationParking`): one small log entry per batch instead of a
    /// claim and a deferral outcome per message. For each item, every non-final recipient that is
    /// due at `issuedAt` gets `nextAttemptAt = max(nextAttemptAt, item.at)`; a message that is gone
    /// or holds a lease (expired or not: someone is or was attempting it) is left alone. Never makes
    /// anything due earlier, records no event and no attempt, so replaying it is harmless and a
    /// crash before it commits loses nothing. An item that carries the due time the scheduler saw
    /// (`Item.seen`) leaves its message alone when that changed since (an operator's "retry now",
    /// an attempt), so a batch flushed late never undoes a reschedule. Written in log entry format
    /// 5 (tag 14, with `seen`), or 4 (tag 13, without) for a cluster that does not read 5 yet.
    public struct Postpone: Sendable, Equatable {
        /// One message and its new due time.
        public struct Item: Sendable, Equatable {
            /// Queue ID.
            public var queueID: String
            /// New due time, ms since epoch (the scheduler caps it at the message's lifetime end).
            public var at: Int64
            /// The message's due time (`StoredMessage.nextAttemptAt`) when the scheduler found it
            /// due: the message is left alone unless it is still that. nil (format 4 entries): not
            /// checked.
            public var seen: Int64?

            /// Creates an item. Any thread.
            public init(queueID: String, at: Int64, seen: Int64? = nil) {
                self.queueID = queueID
                self.at = at
                self.seen = seen
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

        /// Whether some item carries `seen` (written as tag 14 where format 5 is read).
        var checksSeen: Bool { items.contains { $0.seen != nil } }

        /// Encodes the fields; `withSeen`: each item's `seen` too (tag 14; `Int64.min` for nil).
        func encode(into w: inout BinaryWriter, withSeen: Bool = false) {
            w.i64(issuedAt)
            w.u32(UInt32(items.count))
            for item in items {
                w.string(item.queueID)
                w.i64(item.at)
                if withSeen { w.i64(item.seen ?? Int64.min) }
            }
        }

        init(decoding r: inout BinaryReader, withSeen: Bool = false) throws {
            issuedAt = try r.i64()
            let n = try r.count(minBytesEach: withSeen ? 20 : 12)
            items = []
            items.reserveCapacity(n)
            for _ in 0..<n {
                let queueID = try r.string()
                let at = try r.i64()
                let seen = withSeen ? try r.i64() : Int64.min
                items.append(Item(queueID: queueID, at: at, seen: seen == Int64.min ? nil : seen))
            }
        }
    }
}

extension SpoolMachine {
    /// `current` with its recipients due at `issuedAt` moved to `at` (never earlier), or nil when
    /// nothing changes (gone, leased, nothing due, already due at `at` or later, or its due time
    /// is no longer `seen`). Pure.
    public static func postponed(_ current: StoredMessage?, at: Int64, issuedAt: Int64, seen: Int64? = nil) -> StoredMessage? {
        guard var m = current, m.lease == nil else { return nil }
        // Rescheduled (or attempted) since the scheduler found it due: leave it as it is now.
        if let seen, m.nextAttemptAt != seen { return nil }
        var changed = false
        for i in m.recipients.indices where !m.recipients[i].status.isFinal
            && m.recipients[i].nextAttemptAt <= issuedAt && m.recipients[i].nextAttemptAt < at {
            m.recipients[i].nextAttemptAt = at
            changed = true
        }
        return changed ? m : nil
    }
}
