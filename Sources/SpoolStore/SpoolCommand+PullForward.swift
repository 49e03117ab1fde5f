extension SpoolCommand {
    /// Makes many postponed messages due at once (the recovery pull of a destination that came
    /// back, see `RecoveryDrain`): one log entry per scheduler pass instead of one `reschedule`
    /// per message. For each item whose message is still as the scheduler read it (its due time is
    /// `Item.seen`) and holds no lease, every pending recipient due after `at` becomes due at `at`;
    /// anything else is left alone (attempted, rescheduled or postponed again since, gone). Records
    /// no event and never moves a message later, so replaying it is harmless; its lifetime end
    /// (from its receipt) is unchanged. Log entry format 6 (tag 15); a cluster that does not read 6
    /// yet gets one `reschedule` per message from the scheduler (`formatProblem` refuses this one).
    public struct PullForward: Sendable, Equatable {
        /// One message and the due time the scheduler read.
        public struct Item: Sendable, Equatable {
            /// Queue ID.
            public var queueID: String
            /// The message's due time (`StoredMessage.nextAttemptAt`) when the scheduler read it.
            public var seen: Int64

            /// Creates an item. Any thread.
            public init(queueID: String, seen: Int64) {
                self.queueID = queueID
                self.seen = seen
            }
        }

        /// The new due time (the proposer's clock, ms since epoch).
        public var at: Int64
        /// The messages.
        public var items: [Item]

        /// Creates a pull command. Any thread.
        public init(at: Int64, items: [Item]) {
            self.at = at
            self.items = items
        }

        func encode(into w: inout BinaryWriter) {
            w.i64(at)
            w.u32(UInt32(items.count))
            for item in items {
                w.string(item.queueID)
                w.i64(item.seen)
            }
        }

        init(decoding r: inout BinaryReader) throws {
            at = try r.i64()
            let n = try r.count(minBytesEach: 12)
            items = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(Item(queueID: try r.string(), seen: try r.i64())) }
        }
    }
}

extension SpoolMachine {
    /// `current` with its pending recipients due after `at` made due at `at`, or nil when nothing
    /// changes (gone, leased, its due time is no longer `seen`, or nothing is due after `at`). Pure.
    public static func pulledForward(_ current: StoredMessage?, at: Int64, seen: Int64) -> StoredMessage? {
        guard var m = current, m.lease == nil, m.nextAttemptAt == seen else { return nil }
        var changed = false
        for i in m.recipients.indices where !m.recipients[i].status.isFinal && m.recipients[i].nextAttemptAt > at {
            m.recipients[i].nextAttemptAt = at
            changed = true
        }
        return changed ? m : nil
    }
}
