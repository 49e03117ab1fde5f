import Testing
@testable import RaftCore

@Suite("Raft elections")
struct RaftElectionTests {
    @Test("a single voter elects itself on its first timeout and commits a proposal alone")
    func singleNode() throws {
        let c = TestCluster(voters: [1])
        c.tickAll(20)
        #expect(c.nodes[1]!.role == .leader)
        let (index, term) = try c.nodes[1]!.propose([42])
        c.stabilize()
        #expect(c.nodes[1]!.commitIndex == index)
        #expect(c.applied[1]!.last == Raft.Entry(term: term, index: index, data: [42]))
    }

    @Test("three voters elect exactly one leader and replicate a proposal to all")
    func threeNodes() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.tickAll(25)
        #expect(c.leaders.count == 1)
        let leader = c.nodes[c.leaders[0]]!
        for n in c.nodes.values { #expect(n.leader == leader.id && n.term == leader.term) }
        let status = leader.status()
        #expect(status.softState == Raft.SoftState(leader: leader.id, role: .leader))
        #expect(status.peers.map(\.id) == [UInt64(1), 2, 3].filter { $0 != leader.id })
        #expect(status.peers.allSatisfy { $0.match == leader.lastIndex && $0.state == .replicate })
        try leader.propose([1, 2, 3])
        c.stabilize()
        for id in [UInt64(1), 2, 3] { #expect(c.appliedData(id) == [[1, 2, 3]]) }
    }

    @Test("a follower refuses proposals and names the leader")
    func proposeOnFollower() {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        do {
            try c.nodes[2]!.propose([1])
            Issue.record("a follower accepted a proposal")
        } catch {
            #expect(error.code == .notLeader && error.leaderHint == 1)
            #expect(error.description == "notLeader: node 2 is not the leader (leader 1) [propose]")
        }
    }

    @Test("with pre-vote a partitioned node does not raise its term and cannot disrupt the leader on return")
    func preVoteKeepsTerm() {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        let term = c.nodes[1]!.term
        c.isolate(3)
        for _ in 0..<100 { c.tick(3) ; c.queue.removeAll() }
        #expect(c.nodes[3]!.term == term)
        #expect(c.nodes[3]!.role == .preCandidate)
        c.heal()
        c.tickAll(5)
        #expect(c.nodes[1]!.role == .leader)
        #expect(c.nodes[1]!.term == term)
        #expect(c.nodes[3]!.leader == 1)
    }

    @Test("without pre-vote an isolated node's elections bump its term (the disruption pre-vote prevents)")
    func noPreVoteBumpsTerm() {
        let c = TestCluster(voters: [1, 2, 3], preVote: false)
        c.campaign(1)
        let term = c.nodes[1]!.term
        c.isolate(3)
        for _ in 0..<100 { c.tick(3); c.queue.removeAll() }
        #expect(c.nodes[3]!.term > term + 2)
    }

    @Test("check-quorum: a leader cut off from the majority steps down within an election timeout")
    func checkQuorumStepDown() {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        #expect(c.nodes[1]!.role == .leader)
        c.isolate(1)
        c.tick(1, 2 * 10 + 1)
        #expect(c.nodes[1]!.role == .follower)
        // The majority side elects a new leader in a higher term.
        c.tickAll(100)
        let newLeaders = c.leaders
        #expect(newLeaders.count == 1 && newLeaders[0] != 1, "\(newLeaders) \(c.nodes.values.map { ($0.id, $0.role, $0.term, $0.randomizedElectionTimeout) })")
    }

    @Test("leader lease: a follower that hears from its leader ignores a higher-term vote request")
    func leaderLease() {
        let c = TestCluster(voters: [1, 2, 3], preVote: false)
        c.campaign(1)
        let term = c.nodes[1]!.term
        c.nodes[2]!.step(Raft.Message(kind: .requestVote, from: 3, to: 2, term: term + 5, logTerm: term, index: 100))
        #expect(c.nodes[2]!.term == term)
        #expect(c.nodes[2]!.vote == 1)
        c.process(2)
        #expect(!c.queue.contains { $0.kind == .voteResponse })
    }

    @Test("without pre-vote, a rejected higher-term vote request raises the term but does not reset the election timer")
    func rejectedVoteKeepsTimer() {
        let c = TestCluster(voters: [1, 2, 3], preVote: false, checkQuorum: false)
        c.preload(1, terms: [1, 1, 1], term: 1)
        let r = c.nodes[1]!
        for _ in 0..<5 { r.tick() }
        #expect(r.electionElapsed == 5)
        // Node 2's log is shorter: the vote is refused, the term adopted, the timer kept.
        r.step(Raft.Message(kind: .requestVote, from: 2, to: 1, term: 2, logTerm: 1, index: 1))
        #expect(r.term == 2 && r.vote == 0)
        #expect(r.electionElapsed == 5)
        // A granted vote does reset it.
        r.step(Raft.Message(kind: .requestVote, from: 3, to: 1, term: 3, logTerm: 1, index: 3))
        #expect(r.vote == 3 && r.electionElapsed == 0)
    }

    @Test("with check-quorum, a leader deposed by a peer's higher-term append response campaigns at once and its followers re-elect it despite their lease")
    func depositionByStaleTermResponse() {
        let c = TestCluster(voters: [1, 2, 3], preVote: false, checkQuorum: true)
        c.campaign(1)
        let term = c.nodes[1]!.term
        #expect(c.leaders == [1])
        // Node 3 timed out meanwhile (say, just after refusing node 1's vote) and is a candidate one
        // term ahead; node 2 follows node 1 and is in its lease.
        c.block(3, 2)
        c.nodes[3]!.hup(transfer: false)
        c.process(3)
        #expect(c.nodes[3]!.term == term + 1 && c.nodes[3]!.role == .candidate)
        c.stabilize()
        // Node 3's vote request was ignored by node 1 (leader lease) and node 2 never saw it; node 1's
        // next heartbeat gets the stale-term response: node 1 steps down and campaigns at term + 2.
        #expect(c.nodes[2]!.term == term)
        c.nodes[1]!.bcastHeartbeat()
        c.process(1)
        c.heal()
        c.stabilize()
        #expect(c.leaders == [1])
        #expect(c.nodes[1]!.term == term + 2)
        #expect(c.nodes.values.allSatisfy { $0.term == term + 2 && $0.leader == 1 })
    }

    @Test("a follower in its leader's lease still ignores a higher-term vote request from another node, but not from the leader")
    func leaseExemptsOwnLeader() {
        let c = TestCluster(voters: [1, 2, 3], preVote: false, checkQuorum: true)
        c.campaign(1)
        let term = c.nodes[1]!.term
        let f = c.nodes[2]!
        f.step(Raft.Message(kind: .requestVote, from: 3, to: 2, term: term + 2, logTerm: term, index: 100))
        #expect(f.term == term)
        f.step(Raft.Message(kind: .requestVote, from: 1, to: 2, term: term + 2, logTerm: term, index: 100))
        #expect(f.term == term + 2 && f.vote == 1)
    }

    @Test("granting a pre-vote restarts the follower's election timer and forgets its silent leader, so the real vote request that follows is granted")
    func preVoteGrantRestartsTimer() {
        let c = TestCluster(voters: [1, 2, 3], preVote: true, checkQuorum: true)
        c.campaign(1)
        let term = c.nodes[1]!.term
        let f = c.nodes[2]!
        c.process(2)
        // Node 2 has not heard from leader 1 for a whole election timeout: its lease is over.
        f.electionElapsed = f.config.electionTick
        let last = f.lastIndex
        f.step(Raft.Message(kind: .requestPreVote, from: 3, to: 2, term: term + 1, logTerm: term, index: last))
        var rd = f.ready()
        #expect(rd.messages.map(\.kind) == [.preVoteResponse] && rd.messages.first?.reject == false)
        f.advance(rd)
        #expect(f.term == term)
        #expect(f.electionElapsed == 0 && f.leader == 0)
        // Had the leader been kept, the reset timer would put node 2 back in that lease and it would
        // ignore the vote request node 3 sends next.
        f.step(Raft.Message(kind: .requestVote, from: 3, to: 2, term: term + 1, logTerm: term, index: last))
        rd = f.ready()
        #expect(rd.messages.map(\.kind) == [.voteResponse] && rd.messages.first?.reject == false)
        #expect(f.vote == 3)
    }

    @Test("a vote is granted once per term and only to a candidate whose log is up to date")
    func voteRules() {
        let c = TestCluster(voters: [1, 2, 3], checkQuorum: false)
        c.preload(2, terms: [1, 1, 2], term: 2)
        let r = c.nodes[2]!
        // Stale log: last term 1 < 2.
        r.step(Raft.Message(kind: .requestVote, from: 1, to: 2, term: 3, logTerm: 1, index: 10))
        var rd = r.ready()
        #expect(rd.messages.first?.reject == true)
        r.advance(rd)
        // Up-to-date candidate gets the vote.
        r.step(Raft.Message(kind: .requestVote, from: 3, to: 2, term: 3, logTerm: 2, index: 3))
        rd = r.ready()
        #expect(rd.messages.first?.reject == false)
        #expect(rd.hardState?.vote == 3)
        r.advance(rd)
        // Another candidate in the same term is refused.
        r.step(Raft.Message(kind: .requestVote, from: 1, to: 2, term: 3, logTerm: 2, index: 3))
        rd = r.ready()
        #expect(rd.messages.first?.reject == true)
    }

    @Test("a restarted node keeps its term, vote and log from storage")
    func restartKeepsState() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        try c.nodes[1]!.propose([9])
        c.stabilize()
        let before = c.nodes[2]!.hardState
        c.restart(2)
        #expect(c.nodes[2]!.hardState == before)
        #expect(c.nodes[2]!.lastIndex == c.nodes[1]!.lastIndex)
        #expect(c.nodes[2]!.role == .follower)
    }

    @Test("leadership transfer: the target campaigns at once and wins; proposals are refused meanwhile")
    func transfer() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        let term = c.nodes[1]!.term
        c.block(1, 3)
        try c.nodes[1]!.propose([1])
        c.stabilize()
        c.heal()
        try c.nodes[1]!.transferLeader(to: 3)
        #expect(throws: Raft.Error.self) { try c.nodes[1]!.propose([2]) }
        c.stabilize()
        #expect(c.nodes[3]!.role == .leader)
        #expect(c.nodes[3]!.term == term + 1)
        #expect(c.nodes[1]!.leader == 3)
        #expect(c.appliedData(3) == [[1]])
    }

    @Test("a transfer to an unreachable node is aborted after an election timeout")
    func transferAbort() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        c.isolate(3)
        try c.nodes[1]!.transferLeader(to: 3)
        #expect(c.nodes[1]!.leadTransferee == 3)
        c.tickAll(11)
        #expect(c.nodes[1]!.leadTransferee == 0)
        #expect(c.nodes[1]!.role == .leader)
        try c.nodes[1]!.propose([5])
    }
}
