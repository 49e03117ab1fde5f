extension Raft {
    /// The leader's view of one follower's replication (etcd's Progress): what is known to match,
    /// what to send next, and the flow-control state.
    public struct Progress {
        /// Replication mode.
        public enum State: UInt8, Sendable {
            /// One append at a time until the match point is found.
            case probe
            /// Pipelined appends, bounded by the in-flight window.
            case replicate
            /// A snapshot was sent; paused until it is acknowledged.
            case snapshot
        }

        /// Highest index known replicated on the follower.
        public var match: UInt64
        /// Next index to send.
        public var next: UInt64
        /// Replication mode.
        public var state: State = .probe
        /// Snapshot index while in `.snapshot`.
        public var pendingSnapshot: UInt64 = 0
        /// Heard from since the last check-quorum.
        public var recentActive: Bool = false
        /// In `.probe`: an append was sent and not yet answered.
        public var probeSent: Bool = false
        /// Non-voting replica.
        public var isLearner: Bool
        /// Ticks spent in `.snapshot`.
        var snapshotTicks: Int = 0
        /// Last indexes of in-flight appends (shared buffer, mutated in place).
        let inflights: Inflights

        init(match: UInt64, next: UInt64, isLearner: Bool, maxInflight: Int) {
            self.match = match
            self.next = next
            self.isLearner = isLearner
            self.inflights = Inflights(capacity: max(1, maxInflight))
        }

        var inflightsFull: Bool { inflights.isFull }

        func resetInflights() { inflights.reset() }
        func addInflight(_ last: UInt64) { inflights.add(last) }
        /// Frees in-flight appends whose last index is <= `index`.
        func freeInflights(upTo index: UInt64) { inflights.free(upTo: index) }
        func freeFirstInflight() { inflights.freeFirst() }

        mutating func becomeProbe() {
            if state == .snapshot {
                next = Swift.max(match + 1, pendingSnapshot + 1)
            } else {
                next = match + 1
            }
            state = .probe
            pendingSnapshot = 0
            probeSent = false
            resetInflights()
        }

        mutating func becomeReplicate() {
            state = .replicate
            next = match + 1
            pendingSnapshot = 0
            probeSent = false
            resetInflights()
        }

        mutating func becomeSnapshot(_ index: UInt64) {
            state = .snapshot
            pendingSnapshot = index
            snapshotTicks = 0
            probeSent = false
            resetInflights()
        }

        /// Records an acknowledgement of `index`; returns whether `match` advanced.
        mutating func maybeUpdate(_ index: UInt64) -> Bool {
            var updated = false
            if match < index {
                match = index
                updated = true
                probeSent = false
            }
            next = Swift.max(next, index + 1)
            return updated
        }

        /// Handles a rejection of the append at `rejected`; `matchHint` is the highest index that may
        /// match. Returns false when the rejection is stale.
        mutating func maybeDecrTo(rejected: UInt64, matchHint: UInt64) -> Bool {
            if state == .replicate {
                if rejected <= match { return false }
                next = match + 1
                return true
            }
            if next == 0 || next - 1 != rejected { return false }
            next = Swift.max(Swift.min(rejected, matchHint + 1), match + 1)
            probeSent = false
            return true
        }

        var isPaused: Bool {
            switch state {
            case .probe: return probeSent
            case .replicate: return inflightsFull
            case .snapshot: return true
            }
        }
    }
}
