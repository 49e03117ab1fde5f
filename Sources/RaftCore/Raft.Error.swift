extension Raft {
    /// Error raised by the Raft core and by storages. `code` is for programs, `reason` for humans,
    /// `leaderHint` names the known leader (0 = unknown) when a proposal went to the wrong node,
    /// `context` says where (optional, for logs).
    public struct Error: Swift.Error, Equatable, Sendable, CustomStringConvertible {
        /// What went wrong.
        public enum Code: String, Sendable {
            /// Proposal or transfer on a node that is not the leader; see `leaderHint`.
            case notLeader
            /// The leader is handing over leadership; retry on the new leader.
            case transferInProgress
            /// A membership change is still pending; retry after it is applied.
            case confChangePending
            /// A membership change that does not fit the current membership.
            case invalidConfChange
            /// Storage: the requested index was compacted into a snapshot.
            case compacted
            /// Storage: the requested index is beyond the last entry.
            case unavailable
            /// Storage: the snapshot is older than what is already held.
            case snapshotOutOfDate
            /// Wire data could not be decoded.
            case decodeFailed
        }

        /// Machine-readable code.
        public var code: Code
        /// Human-readable explanation.
        public var reason: String
        /// Known leader when `code == .notLeader` (0 = unknown).
        public var leaderHint: UInt64
        /// Where the error arose (operation, peer, index…), empty when not given.
        public var context: String

        /// Creates an error. Does not block; any caller.
        public init(_ code: Code, _ reason: String, leaderHint: UInt64 = 0, context: String = "") {
            self.code = code
            self.reason = reason
            self.leaderHint = leaderHint
            self.context = context
        }

        /// "code: reason (leader N) [context]" text.
        public var description: String {
            var s = "\(code.rawValue): \(reason)"
            if leaderHint != 0 { s += " (leader \(leaderHint))" }
            if !context.isEmpty { s += " [\(context)]" }
            return s
        }
    }
}
