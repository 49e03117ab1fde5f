extension RaftLog {
    /// Settings of one cluster node's replicated log. Build them from the relay config with
    /// `RaftLog.Options(config:)` or by hand (tests). Plain value; any thread.
    public struct Options: Sendable {
        /// This node's id (string, as in config).
        public var nodeID: String
        /// The other members: id → peer address (`host:port`).
        public var peers: [String: String]
        /// Address the peer transport listens on (`127.0.0.1:0` picks a port).
        public var listen: String
        /// Cluster secret that authenticates peer connections.
        public var secret: [UInt8]
        /// Directory of the raft LMDB environment (the node uses `dataDir/raft`).
        public var directory: String
        /// Interval of one Raft tick, seconds.
        public var tickInterval: Double = 0.1
        /// Ticks without a leader before campaigning (randomized up to twice this).
        public var electionTicks: Int = 10
        /// Ticks between leader heartbeats.
        public var heartbeatTicks: Int = 1
        /// A proposal not committed and applied within this many seconds fails (SMTP 451 4.3.0).
        public var proposalTimeout: Double = 5
        /// Appends carrying more entry bytes than this go on the bulk lane.
        public var bulkThreshold: Int = 64 << 10
        /// Byte budget of one AppendEntries message.
        public var maxAppendBytes: Int = 4 << 20
        /// Most proposals given to Raft in one batch.
        public var maxBatchCount: Int = 1024
        /// Compact the log when it holds more than this many entries…
        public var compactThreshold: Int = 50_000
        /// …keeping this many applied entries behind for slow followers.
        public var retainedEntries: UInt64 = 10_000
        /// A member silent for longer than this no longer holds back compaction: the log stays
        /// bounded while a node is down, and the node catches up from a streamed snapshot when it returns.
        public var compactionHoldSeconds: Double = 600
        /// Bodies written once (`cluster.bodiesInLog`): the spool references an enqueue's body inside
        /// its committed log entry instead of copying it; compaction keeps such entries while their
        /// message is queued (`RaftLogStorage+Pins.swift`). Off: the spool copies every body.
        public var bodiesInLog: Bool = true
        /// Nice value of the raft loop and applier threads (`spool.writerNice`; 0: as inherited):
        /// every accept waits on both, one after the other. Check it with `ThreadPriority.probe`.
        public var commitNice: Int32 = 0
        /// Retained entries (kept for queued bodies) one sweep checks, deleting those whose message
        /// left in one synced write, on the raft loop (`RaftLog+BodyPins.swift`). Bounded so a sweep
        /// does not hold up heartbeats: at 10^5 retained 5 KB entries one slice of 65,536 took 33 ms
        /// to walk and 101 ms to delete, one of 4,096 2.3 and 7.8 ms (RetainedSweepCostTests).
        public var sweepSlice: Int = 4_096
        /// Map size of the raft LMDB environment (it opens at this, or at its data's size if larger).
        public var mapSize: Int = 32 << 30
        /// The most the raft map grows to by itself, bounded by the filesystem's free space
        /// (`LogBodyReader+MapGrowth.swift`; `cluster.raftMaxMapSizeMB`). At most `mapSize` (the
        /// default, 0) keeps the map fixed.
        public var maxMapSize: Int = 0
        /// Voters of a brand-new cluster; nil means this node and every peer.
        public var initialVoters: [String]? = nil
        /// Mutual TLS for peer links (`cluster.tls`); nil: HMAC handshake only, frames in clear.
        public var tls: PeerTransport.TLSFiles? = nil
        /// Seconds an accepted peer connection has to finish its handshake.
        public var handshakeTimeout: Double = 5
        /// Most accepted peer connections in their handshake at once.
        public var maxPendingHandshakes: Int = 64
        /// Most accepted peer connections in their handshake from one source IP.
        public var maxPendingHandshakesPerIP: Int = 16
        /// Members of the preferred leader region (`cluster.preferredLeaderRegion`); a leader outside
        /// it hands leadership to a healthy caught-up one of them (`LeaderPreference`). Empty: none.
        public var preferredLeaders: Set<String> = []
        /// Runs (on the raft loop) when a leader's spool snapshot was received and waits to be
        /// installed by a restart (`RaftLog.installPendingSnapshot`); must not block.
        public var onSnapshotReady: (@Sendable () -> Void)? = nil

        /// Creates options with defaults. Any thread.
        public init(nodeID: String, peers: [String: String], listen: String, secret: [UInt8], directory: String) {
            self.nodeID = nodeID
            self.peers = peers
            self.listen = listen
            self.secret = secret
            self.directory = directory
        }
    }
}
