extension Raft {
    /// A node's role in the current term.
    public enum Role: UInt8, Sendable {
        /// Follows the leader (or waits for one).
        case follower
        /// Asking peers whether they would vote, without bumping the term (pre-vote).
        case preCandidate
        /// Campaigning for votes in a new term.
        case candidate
        /// Leads the cluster for the current term.
        case leader
    }

    /// Volatile state reported in `Ready` when it changes: the known leader (0 = unknown) and the role.
    /// Need not be persisted.
    public struct SoftState: Equatable, Sendable {
        /// Known leader id, 0 when unknown.
        public var leader: UInt64
        /// This node's role.
        public var role: Role

        /// Creates a soft state. Does not block; any caller.
        public init(leader: UInt64, role: Role) {
            self.leader = leader
            self.role = role
        }
    }
}
