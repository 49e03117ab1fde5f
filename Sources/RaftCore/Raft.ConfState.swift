extension Raft {
    /// Cluster membership: voting members and learners (non-voting replicas). Ids are kept sorted.
    /// Persist it with snapshots and whenever `Raft.applyConfChange` returns a new one.
    public struct ConfState: Equatable, Hashable, Sendable {
        /// Voting members, sorted.
        public var voters: [UInt64]
        /// Non-voting replicas, sorted.
        public var learners: [UInt64]

        /// Creates a membership; ids are sorted and deduplicated. Does not block; any caller.
        public init(voters: [UInt64] = [], learners: [UInt64] = []) {
            self.voters = Array(Set(voters)).sorted()
            self.learners = Array(Set(learners).subtracting(voters)).sorted()
        }
    }
}
