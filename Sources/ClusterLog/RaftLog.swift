import Foundation
import NetworkIO
import RaftCore
import SpoolStore
import Synchronization

/// The replicated `ReplicatedLog`: a Raft node (RaftCore) with LMDB raft storage, the peer
/// transport, and the spool as its state machine. The replicated sibling of `LocalLog`.
///
/// Everything runs on one event loop thread owned by this object: ticks, received messages,
/// proposals, persisting each `Ready` (entries + hard state in one fsynced LMDB transaction, before
/// its messages are sent), sending, and applying committed entries to the `SpoolStore` in one
/// transaction per batch. Proposals that arrive while the loop is busy (fsync) are proposed
/// together on its next turn (group commit).
///
/// Proposals: on the leader they are appended directly; a follower forwards them to the leader
/// over the transport and the leader reports the result back (one extra round trip, no 4xx just
/// because the client picked a follower). A proposal completes once its entry is committed and
/// applied here with the same index and term; if the slot was taken by another leader's entry,
/// or nothing committed it within `Options.proposalTimeout`, it fails with
/// `StoreError(.unavailable, "cluster unavailable: …")` (SMTP 451 4.3.0), and a stopped log fails with
/// `.closed`.
///
/// Snapshots: the spool is the state; the raft log is compacted (behind the applied index and
/// behind what every member has replicated, as the leader advertises) once it exceeds
/// `Options.compactThreshold`. A member behind the compacted log (a new member) is sent a streamed
/// copy of the leader's spool, which it installs on its next start (see `RaftLog+Snapshots.swift`,
/// `installPendingSnapshot`, `Options.onSnapshotReady`, `Status.snapshotPending`).
///
/// `@unchecked Sendable` is sound: loop-confined state is touched only on `loop` (every public
/// entry point hops there with `execute`); the cross-thread view (`status`, flags) is in a `Mutex`.
public final class RaftLog: ReplicatedLog, @unchecked Sendable {
    /// Where a proposal came from, hence how to report its result.
    enum Origin {
        case local(@Sendable (Result<UInt64, StoreError>) -> Void)
        case remote(peer: String, request: RequestID)
    }

    /// Names a forwarded proposal: the forwarding node's incarnation (random per `RaftLog`
    /// instance, so per process start) and a sequence number that restarts at 1 with it. Replies
    /// carry both, so a late reply to a previous incarnation's request never completes a new one.
    struct RequestID: Hashable {
        var incarnation: UInt64
        var seq: UInt64
    }

    struct Proposal {
        var data: [UInt8]
        var origin: Origin
        var deadline: UInt64
    }

    struct Waiter {
        var term: UInt64
        var origin: Origin
        var deadline: UInt64
    }

    /// Logs an event with fields (e.g. to the node logger). Called on the loop thread.
    public typealias LogSink = @Sendable (_ level: String, _ event: String, _ fields: [String: String]) -> Void

    /// The settings in force.
    public let options: Options
    /// The spool this log applies to.
    public let store: SpoolStore
    /// Loop-confined once started (members added at runtime are inserted).
    var ids: NodeIDMap
    let loop: EventLoop
    let logSink: LogSink
    let shared = Mutex(Shared())
    /// Called on the applier thread after a batch made mail due here (`onNewWork(_:)`).
    let newWork = Mutex<(@Sendable () -> Void)?>(nil)

    // Loop-confined state.
    var raft: Raft!
    var storage: RaftLogStorage!
    var transport: PeerTransport!
    var pending: [Proposal] = []
    /// A Ready whose raft-storage write failed (disk or map full, I/O error): kept, with its
    /// messages unsent, and written again every `storageRetryInterval` until it succeeds. While set,
    /// local proposals fail at once with `.storageFull` and no new Ready is taken.
    var stalledReady: Raft.Ready?
    /// Proposals appended to the log, by index (a node may hold one of its own term and one
    /// forwarded to a later leader at the same index).
    var waiters: [UInt64: [Waiter]] = [:]
    /// Results of recently applied entries (index → term, result), for forwarded proposals whose
    /// append acknowledgement arrives after the entry was applied here.
    var recentResults: [UInt64: (UInt64, Result<Void, StoreError>)] = [:]
    var recentOrder: [UInt64] = []
    var recentStart = 0
    var forwarded: [RequestID: Proposal] = [:]
    /// Leader: forwarded proposals it appended, by index, to tell their origin the apply result
    /// (see `RaftLog+AppliedResults`).
    var appliedNotices: [UInt64: AppliedNotice] = [:]
    /// Follower: apply results received from the leader, used when this node's own apply has not
    /// answered within `leaderResultGrace` (see `RaftLog+AppliedResults`).
    var leaderResults: [UInt64: LeaderResult] = [:]
    var leaderResultGrace: UInt64 = 1_000_000_000
    var leaderResultSweep = false
    /// This instance's incarnation (see `RequestID`): random, never 0.
    let incarnation = UInt64.random(in: 1...UInt64.max)
    var nextRequest: UInt64 = 1
    var processScheduled = false
    var applier: SpoolApplier!
    /// Highest index the applier has applied to the spool (reported back to the loop).
    var spoolApplied: UInt64 = 0
    var compactHint: UInt64 = 0
    /// When this log was created (monotonic ns): a peer never heard from counts as silent since then.
    let createdAt = EventLoop.now()
    /// When this node last became leader (monotonic ns): a new leader counts every peer as heard
    /// from then, since what it saw as a follower says little about them.
    var leaderSince: UInt64 = 0
    /// Members the leader last reported live, and when that report arrived (monotonic ns).
    var liveMembers: [String] = []
    var liveReceived: UInt64 = 0
    /// The log entry format this node writes (see `RaftLog+Formats`).
    var effectiveFormat: UInt8 = 1
    /// Members' formats saved by earlier runs, whether they changed since the last save and whether
    /// saving failed (`RaftLog+RememberedFormats`).
    var rememberedFormats: [String: UInt8] = [:]
    var formatsUnsaved = false
    var savingFormatsFailed = false
    /// The format the leader last announced in its `.leaderView` (1 from a leader that announces none).
    var leaderFormat: UInt8 = 1
    var needsSnapshot: Set<UInt64> = []
    var ticks: UInt64 = 0
    /// The last sweep of retained entries dropped at least half its slice: the next runs on the
    /// next tick rather than a second later (`RaftLog+BodyPins.swift`).
    var sweepBehind = false
    var stopping = false
    var lastRole = Raft.Role.follower
    var lastLeader: UInt64 = 0
    var stopCompletion: (() -> Void)?
    /// Snapshot streams this leader is sending, by peer.
    var outgoingSnapshots: [String: OutgoingSnapshot] = [:]
    /// When the last stream to a peer finished (monotonic ns), to avoid resending at once.
    var snapshotSentAt: [String: UInt64] = [:]
    /// The snapshot stream this node is receiving.
    var incomingSnapshot: IncomingSnapshot?
    /// A complete snapshot waits in `snapshotDirectory`; install it with `installPendingSnapshot`
    /// before reopening the spool.
    var snapshotPending = false
    /// Reads up to `count` bytes of a spool copy being streamed; runs off the loop (tests slow it).
    var snapshotChunkRead: @Sendable (FileHandle, Int) throws -> Data? = { handle, count in
        try handle.read(upToCount: count)
    }
    /// Removes a spool copy or partial snapshot directory; runs off the loop (tests watch it).
    var snapshotCopyRemove: @Sendable (String) -> Void = { try? FileManager.default.removeItem(atPath: $0) }
    /// Snapshot streams whose end frame was handled after their writes (kept or refused; tests).
    var snapshotStreamsEnded = 0
    /// Writes a received chunk of a snapshot stream; runs off the loop (tests slow it).
    var snapshotChunkWrite: @Sendable (FileHandle, Data) throws -> Void = { handle, data in
        try handle.write(contentsOf: data)
    }
    /// Membership changes waiting for their entry to apply: index → (term, completion).
    var confWaiters: [UInt64: (UInt64, @Sendable (Result<Void, ClusterError>) -> Void)] = [:]
    var stopDeadline: UInt64 = 0
    /// Whether the leader promotes caught-up learners (tests turn it off to keep a learner).
    var autoPromoteLearners = true
    /// Sees every raft message as it is sent, with the last index durable in the raft storage at
    /// that moment (tests). Loop thread.
    var sendObserver: ((Raft.Message, UInt64) -> Void)?
    /// A flush of a spool opened without fsync is running before a compaction.
    var spoolFlushInFlight = false
    /// Raft frames dropped as undecodable, malformed or misaddressed (see `RaftLog+Validation`).
    var malformedMessages = 0
    /// Leadership preference bookkeeping (`RaftLog+Preference.swift`).
    var preferenceState = PreferenceState()

    /// State readable from any thread.
    struct Shared {
        var status: Status?
        var started = false
        var stopped = false
        /// The leader's commit index as last learned through a read-index round (readiness).
        var leaderCommit: UInt64?
        /// `effectiveFormat`, for proposals encoded on the caller's thread.
        var format: UInt8 = 1
    }

    /// Opens the raft storage in `options.directory` and prepares the node; call `start()` to join
    /// the cluster. Blocks for file I/O. Throws `ClusterError` for a bad configuration or storage.
    public init(options: Options, store: SpoolStore, logSink: @escaping LogSink = { _, _, _ in }) throws {
        self.options = options
        self.store = store
        self.logSink = logSink
        var members = [options.nodeID] + options.peers.keys.sorted()
        if let v = options.initialVoters { members += v.filter { !members.contains($0) } }
        ids = try NodeIDMap(members)
        guard !options.secret.isEmpty || options.peers.isEmpty else {
            throw ClusterError(.invalidConfig, "a cluster needs cluster.secretFile")
        }
        loop = try EventLoop(name: "raft-\(options.nodeID)")
        let voters = (options.initialVoters ?? members).map(NodeIDMap.raftID)
        let storage = try RaftLogStorage(directory: options.directory, initialVoters: voters, mapSize: options.mapSize,
                                         maxMapSize: options.maxMapSize)
        self.storage = storage
        Self.logMapGrowth(of: storage, options: options, logSink: logSink)
        store.setLogBodySource(storage.bodyReader)
        var cfg = Raft.Config(id: ids.ids[options.nodeID]!, randomSeed: UInt64.random(in: 1...UInt64.max))
        cfg.electionTick = options.electionTicks
        cfg.heartbeatTick = options.heartbeatTicks
        cfg.maxSizePerMsg = options.maxAppendBytes
        cfg.applied = try store.lastApplied().index
        if cfg.applied > storage.lastIndex {
            throw ClusterError(.corrupt, "spool applied index \(cfg.applied) is beyond the raft log (\(storage.lastIndex))",
                               context: options.directory)
        }
        // Commit-index-only changes are not written (see `RaftLogStorage.persist`); what the spool
        // applied was committed.
        storage.raiseCommit(to: cfg.applied)
        cfg.catchingUp = try Self.catchingUp(storage, options)
        raft = Raft(config: cfg, storage: storage)
        spoolApplied = raft.appliedIndex
        // Members added at runtime (`addNode`) are remembered by the raft storage; config wins.
        var peers = options.peers
        for (name, address) in storage.members where name != options.nodeID && peers[name] == nil {
            try? ids.insert(name)
            peers[name] = address
        }
        transport = PeerTransport(loop: loop, nodeID: options.nodeID, secret: options.secret, peers: peers,
                                  maxFrame: max(256 << 20, options.maxAppendBytes * 2))
        try transport.apply(options, logSink: logSink)
        transport.formatVersion = SpoolCommand.formatVersion
        rememberedFormats = Self.savedFormats(storage)
        refreshEffectiveFormat()
        try copyBodiesBackIfSwitchedOff(storage)
        discardStaleSnapshotCopies()
    }

    /// Starts the loop, binds the peer port and begins ticking. Returns the bound peer address.
    /// Blocks until listening; call once, not from a completion.
    @discardableResult
    public func start() throws -> String {
        loop.start(nice: options.commitNice)
        let result = Mutex<Result<String, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let me = LoopBound(self, loop: loop)
        loop.execute {
            let r = Result { () throws -> String in try me.value.startOnLoop() }
            result.withLock { $0 = r }
            done.signal()
        }
        done.wait()
        let r = result.withLock { $0 }!
        if case .failure = r {
            loop.stop()
            loop.waitUntilStopped()
        }
        return try r.get()
    }

    /// See `ReplicatedLog.propose`. Never blocks; the completion runs on the raft loop thread
    /// (must not block). After `stop()` it fails at once with `.closed`.
    public func propose(_ command: SpoolCommand, completion: @escaping @Sendable (Result<UInt64, StoreError>) -> Void) {
        let stopped = shared.withLock { $0.stopped || !$0.started }
        if stopped {
            completion(.failure(StoreError(.closed, "cluster log not running", context: "propose")))
            return
        }
        let format = shared.withLock { $0.format }
        if let problem = command.formatProblem(format: format) {
            completion(.failure(problem))
            return
        }
        let data = command.encoded(format: format)
        if let problem = Self.entrySizeProblem(data.count) {
            completion(.failure(problem))
            return
        }
        let deadline = EventLoop.now() + UInt64(options.proposalTimeout * 1e9)
        let me = LoopBound(self, loop: loop)
        loop.execute {
            me.value.enqueue(Proposal(data: data, origin: .local(completion), deadline: deadline))
        }
    }

    /// Stops the node: optionally hands leadership to the most up-to-date voter first (waiting up
    /// to about two election timeouts), fails waiting proposals with `.closed`, closes the
    /// transport and the raft storage. Blocks until done; idempotent; not from a completion.
    public func stop(transferLeadership: Bool = true) {
        let first = shared.withLock { s -> Bool in
            defer { s.stopped = true }
            return s.started && !s.stopped
        }
        guard first else { return }
        let done = DispatchSemaphore(value: 0)
        let me = LoopBound(self, loop: loop)
        loop.execute { me.value.beginStop(transfer: transferLeadership) { done.signal() } }
        done.wait()
        loop.stop()
        loop.waitUntilStopped()
        applier.stop()
        storage.close()
    }

    /// The node's current status (refreshed on every loop turn). Any thread; never blocks on I/O.
    public func status() -> Status {
        shared.withLock { $0.status } ?? Status(id: options.nodeID, role: "stopped", leader: nil, term: 0, commit: 0,
                                                applied: 0, lastIndex: 0, firstIndex: 0, hasQuorum: false, voters: [],
                                                learners: [], peers: [], snapshotPending: false, pendingProposals: 0,
                                                live: [])
    }

    /// Whether this node currently leads. Any thread.
    public var isLeader: Bool { status().isLeader }

    /// Whether this node is in touch with a majority (see `Status.hasQuorum`). Any thread.
    public var hasQuorum: Bool { status().hasQuorum }
}

extension RaftLog {
    /// Changes the address used to reach member `id` (config reload, or tests that learn ports after
    /// binding). Unknown ids are ignored. Never blocks; any thread.
    public func updatePeer(_ id: String, address: String) {
        guard id != options.nodeID else { return }
        let me = LoopBound(self, loop: loop)
        loop.execute {
            guard me.value.ids.ids[id] != nil else { return }
            me.value.transport.setPeer(id, address: address)
        }
    }
}

extension RaftLog {
    /// Sets the word of the health line the peer port answers to plain connections
    /// (`SENDARIX <id> <word>`; the node's prober expects `ok`, e.g. `draining` while shutting
    /// down). `word` runs on the raft loop and must not block. Never blocks; any thread.
    public func setHealthWord(_ word: @escaping @Sendable () -> String) {
        let me = LoopBound(self, loop: loop)
        loop.execute { me.value.transport.healthWord = word }
    }
}
