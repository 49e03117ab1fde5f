extension Raft {
    /// A snapshot of one node's Raft state for operators (`cluster status`, metrics, health).
    public struct Status: Sendable {
        /// Replication state of one peer, as seen by the leader.
        public struct Peer: Sendable {
            /// Peer id.
            public var id: UInt64
            /// Highest index known replicated there.
            public var match: UInt64
            /// Next index the leader will send.
            public var next: UInt64
            /// Replication mode.
            public var state: Progress.State
            /// Non-voting replica.
            public var isLearner: Bool
            /// Heard from since the last check-quorum round.
            public var recentActive: Bool
        }

        /// This node's id.
        public var id: UInt64
        /// Hard state (term, vote, commit).
        public var hardState: HardState
        /// Role and known leader.
        public var softState: SoftState
        /// Highest index handed to the application.
        public var applied: UInt64
        /// Last log index.
        public var lastIndex: UInt64
        /// Membership.
        public var confState: ConfState
        /// Ongoing leadership transfer target (0 = none).
        public var leadTransferee: UInt64
        /// Per-peer replication (leader only, sorted by id, excluding this node).
        public var peers: [Peer]
    }

    /// Current status. Does not block; call from the driving thread.
    public func status() -> Status {
        let peers = progress.keys.sorted().filter { $0 != id }.map { pid -> Status.Peer in
            let p = progress[pid]!
            return Status.Peer(id: pid, match: p.match, next: p.next, state: p.state, isLearner: p.isLearner,
                               recentActive: p.recentActive)
        }
        return Status(id: id, hardState: hardState, softState: softState, applied: log.applied,
                      lastIndex: log.lastIndex, confState: confState, leadTransferee: leadTransferee, peers: peers)
    }
}
