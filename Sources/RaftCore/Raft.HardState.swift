extension Raft {
    /// The state a node must persist (and fsync) before sending the messages of the same `Ready`:
    /// current term, the vote cast in that term (0 = none) and the commit index.
    public struct HardState: Equatable, Hashable, Sendable {
        /// Current term.
        public var term: UInt64
        /// Node voted for in `term`, 0 when no vote was cast.
        public var vote: UInt64
        /// Highest index known committed.
        public var commit: UInt64

        /// Creates a hard state. Does not block; any caller.
        public init(term: UInt64 = 0, vote: UInt64 = 0, commit: UInt64 = 0) {
            self.term = term
            self.vote = vote
            self.commit = commit
        }

        /// True for the zero state of a brand-new node.
        public var isEmpty: Bool { term == 0 && vote == 0 && commit == 0 }
    }
}
