extension Raft {
    /// Tunables of one Raft node. Times are in ticks: the shell calls `Raft.tick()` at a fixed
    /// interval (for example every 100 ms).
    public struct Config: Sendable {
        /// This node's id (non-zero, unique in the cluster).
        public var id: UInt64
        /// Ticks without hearing from a leader before a follower campaigns; the actual timeout is
        /// randomized in [electionTick, 2*electionTick). Also the leader's check-quorum period.
        public var electionTick: Int = 10
        /// Ticks between leader heartbeats. Must be less than `electionTick`.
        public var heartbeatTick: Int = 1
        /// Byte budget of one AppendEntries message (at least one entry is always sent).
        public var maxSizePerMsg: Int = 1 << 20
        /// Maximum number of AppendEntries in flight (unacknowledged) per follower.
        public var maxInflightMessages: Int = 256
        /// Byte budget of the committed entries handed out in one `Ready`.
        public var maxCommittedSizePerReady: Int = 8 << 20
        /// Ask for votes without bumping the term first, so a partitioned node cannot disrupt. A
        /// follower that grants a pre-vote waits a full election timeout before campaigning itself.
        public var preVote: Bool = true
        /// Leader steps down when it has not heard from a majority for `electionTick` ticks; followers
        /// then also refuse to vote while they have a live leader (leader lease), except for that
        /// leader itself. A leader deposed by a peer that answers with a higher term (a peer that moved
        /// on during a partition or an election) campaigns again at once.
        public var checkQuorum: Bool = true
        /// Ticks a leader waits for a snapshot to be acknowledged before probing the follower again.
        public var snapshotTimeoutTicks: Int = 50
        /// Last index already applied by the application when restarting (0 = the snapshot index,
        /// for applications that reload their state from the latest snapshot).
        public var applied: UInt64 = 0
        /// This node's storage was created empty while the cluster may already have a history (a
        /// machine replaced after losing its disk, a node joining). Until it has caught up (see
        /// `Raft.isCatchingUp`) it neither campaigns nor grants a vote to a candidate whose log is
        /// not empty: with its old log and vote gone, such a vote could elect a leader that misses
        /// committed entries, or be a second vote in a term. The shell persists the flag.
        public var catchingUp: Bool = false
        /// Seed of the generator that randomizes election timeouts (use a different one per node).
        public var randomSeed: UInt64

        /// Creates a configuration with defaults. Does not block; any caller.
        public init(id: UInt64, randomSeed: UInt64? = nil) {
            self.id = id
            self.randomSeed = randomSeed ?? (id &* 0x9E37_79B9_7F4A_7C15)
        }
    }
}
