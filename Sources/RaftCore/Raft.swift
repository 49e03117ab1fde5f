import SendarixSupport

/// One Raft node as a pure, deterministic state machine in the style of etcd's RawNode.
///
/// The shell owns all I/O: it calls `tick()` on a timer, feeds received messages to `step(_:)`,
/// submits commands with `propose(_:)`, and whenever `hasReady` is true takes `ready()`, persists and
/// sends what it says (see `Raft.Ready` for the order) and calls `advance(_:)`. Nothing here blocks,
/// reads clocks, does I/O or draws unseeded randomness. Not thread-safe: drive each instance from one
/// thread (or actor) at a time.
///
/// Features: pre-vote, check-quorum with leader lease, pipelined byte-bounded replication with
/// flow control, fast conflict back-off, commit of current-term entries only (§5.4.2), snapshots,
/// single-step membership changes with learners, leadership transfer and ReadIndex.
///
/// A shell's loop, in outline:
/// ```swift
/// let raft = Raft(config: Raft.Config(id: me), storage: storage)
/// // every tick interval:            raft.tick()
/// // on a peer message:              raft.step(try Raft.Message.decode(bytes))
/// // on a client command (leader):   let (index, term) = try raft.propose(data)  // or propose(batch:)
/// while raft.hasReady {
///     let rd = raft.ready()
///     if let s = rd.snapshot { install(s) }                          // storage + application state
///     persist(rd.entries, rd.hardState, fsync: rd.mustSync)         // one transaction
///     for m in rd.messages { transport.send(m.encode(), to: m.to) } // only after persisting
///     for e in rd.committedEntries { apply(e) }  // .confChange: storage.conf = raft.applyConfChange(cc)
///     raft.advance(rd)
/// }
/// ```
/// A command proposed at (index, term) is committed when an applied entry has that index and
/// term; a different term at that index means it was lost (retry).
public final class Raft {
    /// This node's id.
    public let id: UInt64
    /// Current term.
    public internal(set) var term: UInt64 = 0
    /// Vote cast in `term` (0 = none).
    public internal(set) var vote: UInt64 = 0
    /// Current role.
    public internal(set) var role: Role = .follower
    /// Known leader (0 = unknown).
    public internal(set) var leader: UInt64 = 0
    /// Voting members, per the last applied membership.
    public internal(set) var voters: Set<UInt64> = []
    /// Learners, per the last applied membership.
    public internal(set) var learners: Set<UInt64> = []
    /// Follower progress (leader only; includes self).
    public internal(set) var progress: [UInt64: Progress] = [:]
    /// Target of an ongoing leadership transfer (0 = none).
    public internal(set) var leadTransferee: UInt64 = 0
    /// Whether this node still refuses to vote after starting from an empty storage (see
    /// `Config.catchingUp`); cleared once it holds everything a leader had committed.
    public internal(set) var isCatchingUp = false
    /// Messages `step` dropped because no correct peer could have sent them (see `Raft.Message.malformation`).
    public internal(set) var malformedDropped = 0
    /// Why the last such message was dropped, nil if none was.
    public internal(set) var lastMalformation: String?

    var log: Log
    let config: Config
    var random: SplitMix64
    var electionElapsed = 0
    var heartbeatElapsed = 0
    var randomizedElectionTimeout = 0
    var votes: [UInt64: Bool] = [:]
    var msgs: [Message] = []
    var pendingConfIndex: UInt64 = 0
    var prevSoftState: SoftState
    var prevHardState: HardState
    var readyOutstanding = false
    var pendingReads: [PendingRead] = []
    var readsAwaitingCommit: [PendingRead] = []
    var readStates: [ReadState] = []

    /// Creates (or restarts) a node from its storage. Does not block; call from the driving thread.
    /// A brand-new node of a new cluster uses a storage whose `confState` lists the initial voters;
    /// a node joining an existing cluster starts with an empty log and the cluster's current
    /// membership (it is added with `ConfChange.addLearner` and cannot campaign until promoted).
    public init(config: Config, storage: any RaftStorage) {
        precondition(config.id != 0, "raft node id must be non-zero")
        precondition(config.heartbeatTick > 0 && config.electionTick > config.heartbeatTick,
                     "electionTick must exceed heartbeatTick")
        self.id = config.id
        self.config = config
        self.random = SplitMix64(seed: config.randomSeed)
        self.isCatchingUp = config.catchingUp
        self.log = Log(storage: storage, maxCommittedSize: config.maxCommittedSizePerReady)
        let (hs, cs) = storage.initialState()
        self.prevSoftState = SoftState(leader: 0, role: .follower)
        self.prevHardState = hs
        voters = Set(cs.voters)
        learners = Set(cs.learners)
        if !hs.isEmpty {
            precondition(hs.commit <= log.lastIndex, "hard state commit \(hs.commit) beyond last index \(log.lastIndex)")
            log.committed = Swift.max(hs.commit, log.committed)
            term = hs.term
            vote = hs.vote
        }
        if config.applied > 0 { log.appliedTo(Swift.min(config.applied, log.committed)) }
        becomeFollower(term: term, leader: 0)
    }

    // MARK: - Public inspection

    /// Current soft state (leader and role).
    public var softState: SoftState { SoftState(leader: leader, role: role) }
    /// Current hard state.
    public var hardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }
    /// Highest committed index.
    public var commitIndex: UInt64 { log.committed }
    /// Highest index handed to the application (advanced by `advance`).
    public var appliedIndex: UInt64 { log.applied }
    /// Last index in the log (stable or not).
    public var lastIndex: UInt64 { log.lastIndex }
    /// First index still in the log (after the snapshot).
    public var firstIndex: UInt64 { log.firstIndex }
    /// Term of the entry at `index`, nil if compacted or absent. Does not block.
    public func term(at index: UInt64) -> UInt64? { log.term(index) }
    /// Current membership.
    public var confState: ConfState { ConfState(voters: Array(voters), learners: Array(learners)) }
    /// Whether this node may campaign (it is a voter).
    public var isPromotable: Bool { voters.contains(id) }
    var quorum: Int { voters.count / 2 + 1 }

    // MARK: - Driving

    /// Advances logical time by one tick: followers count toward an election, leaders send
    /// heartbeats and check quorum. Does not block; call from the driving thread.
    public func tick() {
        if role == .leader { tickHeartbeat() } else { tickElection() }
    }

    /// Feeds a message received from a peer. Messages for another node or from an older term are
    /// ignored or answered as Raft requires. Does not block; call from the driving thread.
    public func step(_ m: Message) {
        guard m.to == id else { return }
        if let why = m.malformation { return dropMalformed(m, why) }
        if m.term > term {
            if m.kind == .requestVote || m.kind == .requestPreVote {
                // Leader lease: ignore other candidates while the leader was heard from recently. A
                // request from that leader itself disrupts nobody (see `.appendResponse` below).
                let inLease = config.checkQuorum && leader != 0 && electionElapsed < config.electionTick
                if !m.isTransfer && inLease && m.from != leader { return }
            }
            let wasLeader = role == .leader
            switch m.kind {
            case .requestPreVote:
                break
            case .preVoteResponse where !m.reject:
                break
            case .appendEntries, .heartbeat, .installSnapshot:
                becomeFollower(term: m.term, leader: m.from)
            case .requestVote:
                // Adopt the term but keep the election timer running unless the vote is granted
                // below (Raft §5.2): otherwise a node with a stale log that times out first could
                // keep resetting everyone's timers and block elections when pre-vote is off.
                let (elapsed, timeout) = (electionElapsed, randomizedElectionTimeout)
                becomeFollower(term: m.term, leader: 0)
                (electionElapsed, randomizedElectionTimeout) = (elapsed, timeout)
            case .appendResponse where wasLeader:
                // A peer answered our append with a higher term: it moved on (a partition, or it timed
                // out while this node was being elected) and this is how it rejoins (etcd's stale-term
                // response). Step down and campaign at once instead of after a timeout: our followers
                // are in our lease and would ignore anyone else until it expires, so waiting costs a
                // whole election round, and the timers left lined up make the next round collide the
                // same way (seed 500762: leaders deposed like this five times in a row).
                becomeFollower(term: m.term, leader: 0)
                hup(transfer: false)
                return
            default:
                becomeFollower(term: m.term, leader: 0)
            }
        } else if m.term < term {
            if (config.checkQuorum || config.preVote) && (m.kind == .heartbeat || m.kind == .appendEntries) {
                send(Message(kind: .appendResponse, from: id, to: m.from, term: term))
            } else if m.kind == .requestPreVote {
                send(Message(kind: .preVoteResponse, from: id, to: m.from, term: term, reject: true))
            }
            return
        }

        switch m.kind {
        case .requestVote, .requestPreVote:
            let canVote = vote == m.from || (vote == 0 && leader == 0)
                || (m.kind == .requestPreVote && m.term > term)
            let respKind: Message.Kind = m.kind == .requestVote ? .voteResponse : .preVoteResponse
            if canVote && log.isUpToDate(lastIndex: m.index, term: m.logTerm) && mayVoteWhileCatchingUp(m) {
                send(Message(kind: respKind, from: id, to: m.from, term: m.term))
                if m.kind == .requestVote {
                    electionElapsed = 0
                    vote = m.from
                } else if role == .follower {
                    // Granting a pre-vote: stay out of the way of that candidate for a timeout, as for a
                    // real vote, instead of timing out while its vote requests are still in flight and
                    // splitting the vote (seed 601932). We hold no lease then (the grant requires
                    // that), so forget the old leader too: the lease must not come back on the reset.
                    electionElapsed = 0
                    leader = 0
                }
            } else {
                send(Message(kind: respKind, from: id, to: m.from, term: term, reject: true))
            }
        default:
            switch role {
            case .leader: stepLeader(m)
            case .candidate, .preCandidate: stepCandidate(m)
            case .follower: stepFollower(m)
            }
        }
    }

    /// Appends a command to the log on the leader and starts replicating it. Returns the entry's
    /// (index, term): the command is committed once an applied entry has that index and term; if the
    /// entry applied at that index has another term the proposal was lost and may be retried.
    /// Throws `.notLeader` (with `leaderHint`) or `.transferInProgress`. Does not block.
    @discardableResult
    public func propose(_ data: [UInt8]) throws(Raft.Error) -> (index: UInt64, term: UInt64) {
        try appendProposals([Entry(term: 0, index: 0, kind: .normal, data: data)])
    }

    /// Appends several commands as consecutive entries with one round of replication messages
    /// (group commit: cheaper than one `propose` per command). Returns the index of the first entry
    /// and the term; command `i` is at `first + i`. Empty input returns (lastIndex + 1, term) and
    /// appends nothing. Throws like `propose`. Does not block.
    @discardableResult
    public func propose(batch: [[UInt8]]) throws(Raft.Error) -> (first: UInt64, term: UInt64) {
        guard !batch.isEmpty else {
            try checkLeader()
            return (log.lastIndex + 1, term)
        }
        let r = try appendProposals(batch.map { Entry(term: 0, index: 0, kind: .normal, data: $0) })
        return (r.index, r.term)
    }

    /// Proposes a membership change (leader only). Throws `.confChangePending` while another change
    /// is not yet applied, `.invalidConfChange` if it does not fit the current membership, plus the
    /// errors of `propose`. Does not block.
    @discardableResult
    public func proposeConfChange(_ cc: ConfChange) throws(Raft.Error) -> (index: UInt64, term: UInt64) {
        try checkLeader()
        if pendingConfIndex > log.applied {
            throw Raft.Error(.confChangePending, "membership change at \(pendingConfIndex) not applied yet (applied \(log.applied))",
                             context: "proposeConfChange")
        }
        try validate(cc)
        let r = try appendProposals([Entry(term: 0, index: 0, kind: .confChange, data: cc.encode())])
        pendingConfIndex = r.index
        return r
    }

    func checkLeader() throws(Raft.Error) {
        guard role == .leader else {
            throw Raft.Error(.notLeader, "node \(id) is not the leader", leaderHint: leader, context: "propose")
        }
        if leadTransferee != 0 {
            throw Raft.Error(.transferInProgress, "leadership is moving to \(leadTransferee)", leaderHint: leadTransferee,
                             context: "propose")
        }
    }

    /// Leader: appends `es` and replicates; returns the first new index and the term.
    func appendProposals(_ es: [Entry]) throws(Raft.Error) -> (index: UInt64, term: UInt64) {
        try checkLeader()
        guard progress[id] != nil else {
            throw Raft.Error(.notLeader, "node \(id) was removed from the cluster", context: "propose")
        }
        let first = log.lastIndex + 1
        appendEntries(es)
        bcastAppend()
        return (first, term)
    }

    /// Whether `ready()` has work (state to persist, messages to send or entries to apply) and no
    /// earlier `Ready` is still awaiting `advance`. Does not block.
    public var hasReady: Bool {
        if readyOutstanding { return false }
        if softState != prevSoftState { return true }
        let hs = hardState
        if !hs.isEmpty && hs != prevHardState { return true }
        if log.unstable.snapshot != nil || !log.unstable.entries.isEmpty { return true }
        if !msgs.isEmpty || !readStates.isEmpty { return true }
        return log.hasNextCommittedEntries
    }

    /// Takes the pending work; see `Raft.Ready` for how to handle it. Must be followed by
    /// `advance(_:)` before the next call. Messages are removed from the node. Does not block.
    public func ready() -> Ready {
        precondition(!readyOutstanding, "ready() called again before advance()")
        let ss = softState
        let hs = hardState
        let rd = Ready(
            softState: ss != prevSoftState ? ss : nil,
            hardState: hs != prevHardState ? hs : nil,
            entries: log.unstable.entries,
            snapshot: log.unstable.snapshot,
            committedEntries: log.nextCommittedEntries(),
            messages: msgs,
            mustSync: !log.unstable.entries.isEmpty || log.unstable.snapshot != nil
                || hs.term != prevHardState.term || hs.vote != prevHardState.vote,
            readStates: readStates
        )
        msgs.removeAll(keepingCapacity: true)
        readStates.removeAll()
        prevSoftState = ss
        prevHardState = hs
        readyOutstanding = true
        return rd
    }

    /// Tells the node a `Ready` was persisted, sent and applied. Does not block.
    public func advance(_ rd: Ready) {
        readyOutstanding = false
        if let last = rd.entries.last { log.unstable.stableTo(index: last.index, term: last.term) }
        if let s = rd.snapshot {
            log.unstable.stableSnapTo(s.index)
            log.appliedTo(s.index)
        }
        if let last = rd.committedEntries.last { log.appliedTo(last.index) }
    }

    // MARK: - Role changes

    func reset(term newTerm: UInt64) {
        if term != newTerm {
            term = newTerm
            vote = 0
        }
        leader = 0
        electionElapsed = 0
        heartbeatElapsed = 0
        randomizedElectionTimeout = config.electionTick + Int(random.next() % UInt64(config.electionTick))
        leadTransferee = 0
        votes = [:]
        pendingConfIndex = 0
        progress = [:]
        pendingReads = []
        readsAwaitingCommit = []
    }

    func becomeFollower(term t: UInt64, leader l: UInt64) {
        reset(term: t)
        role = .follower
        leader = l
    }

    func becomePreCandidate() {
        precondition(role != .leader, "leader cannot become pre-candidate")
        votes = [:]
        role = .preCandidate
        leader = 0
    }

    func becomeCandidate() {
        precondition(role != .leader, "leader cannot become candidate")
        reset(term: term + 1)
        vote = id
        role = .candidate
    }

    func becomeLeader() {
        precondition(role == .candidate, "only a candidate can become leader")
        reset(term: term)
        role = .leader
        leader = id
        isCatchingUp = false  // elected: it holds every committed entry
        let last = log.lastIndex
        for v in voters { progress[v] = newProgress(v, learner: false, last: last) }
        for l in learners { progress[l] = newProgress(l, learner: true, last: last) }
        progress[id]?.becomeReplicate()
        progress[id]?.recentActive = true
        // The no-op of the new term; membership changes wait until it is applied (so that a leader
        // has committed an entry of its own term before changing the configuration).
        appendEntries([Entry(term: 0, index: 0)])
        pendingConfIndex = log.lastIndex
        bcastAppend()
    }

    func newProgress(_ node: UInt64, learner: Bool, last: UInt64) -> Progress {
        Progress(match: node == id ? last : 0, next: last + 1, isLearner: learner,
                 maxInflight: config.maxInflightMessages)
    }

    func send(_ m: Message) {
        msgs.append(m)
    }

    /// Drops a message no correct peer sends, counting it and keeping the reason.
    func dropMalformed(_ m: Message, _ why: String) {
        malformedDropped += 1
        lastMalformation = "\(m.kind) from \(m.from): \(why)"
    }
}
