import RaftCore

extension RaftLog {
    /// What `sendarix cluster status`, `/health` and the DNS responder need to know about this node
    /// and its peers. Plain value; any thread.
    public struct Status: Sendable, Equatable {
        /// One other member, as seen from this node.
        public struct Peer: Sendable, Equatable {
            /// Node id.
            public var id: String
            /// Peer address.
            public var address: String
            /// Highest index known replicated there (leader only; 0 elsewhere).
            public var match: UInt64
            /// Entries the peer is behind this node's last index (leader only).
            public var lag: UInt64
            /// Milliseconds since a frame from this peer arrived; nil if never.
            public var lastContactMillis: UInt64?
            /// Whether the control lane to the peer is up.
            public var connected: Bool
            /// Non-voting member.
            public var isLearner: Bool
            /// The peer fell behind the compacted log and needs a restore from a snapshot.
            public var needsSnapshot: Bool
            /// Last connection error.
            public var lastError: String?
        }

        /// This node's id.
        public var id: String
        /// Role: `leader`, `follower`, `candidate`, `preCandidate` or `stopped`.
        public var role: String
        /// Leader's node id, nil when unknown.
        public var leader: String?
        /// Current term.
        public var term: UInt64
        /// Highest committed index known here.
        public var commit: UInt64
        /// Highest index applied to the spool.
        public var applied: UInt64
        /// Last index in the local log.
        public var lastIndex: UInt64
        /// First index still in the local log (compaction point + 1).
        public var firstIndex: UInt64
        /// Whether this node is in touch with a majority of voters (a leader that heard from a
        /// majority within two election timeouts; a follower that heard from its leader).
        public var hasQuorum: Bool
        /// Voting members.
        public var voters: [String]
        /// Non-voting members.
        public var learners: [String]
        /// The other members.
        public var peers: [Peer]
        /// A leader's snapshot was received and waits to be installed: restart the node (stop, then
        /// `RaftLog.installPendingSnapshot` before opening the spool).
        public var snapshotPending: Bool
        /// Proposals waiting for commit on this node.
        public var pendingProposals: Int
        /// Members the leader heard from recently (sorted; includes the leader), as last reported
        /// by the leader; empty when no leader view arrived within two election timeouts.
        public var live: [String]
        /// Raft messages dropped because no correct peer sends them (malformed after decoding, or
        /// inconsistent with this node's log), since start.
        public var malformedMessages: Int = 0
        /// This node started from an empty raft storage and does not vote yet (see `RaftLog+EmptyStart`).
        public var catchingUp = false
        /// The log entry format version this node writes: the lowest any member reads.
        public var entryFormat = 1
        /// Raft entries kept below the compaction point for the bodies of queued messages
        /// (`RaftLogStorage+Pins.swift`).
        public var retainedBodyEntries = 0

        /// Whether this node is the leader.
        public var isLeader: Bool { role == "leader" }
    }
}
