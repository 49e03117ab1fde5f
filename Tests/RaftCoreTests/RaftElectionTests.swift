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

    @Test("with check-quorum, a rejected higher-term vote request raises the term and restarts the election timer")
    func rejectedVoteRestartsTimerWithCheckQuorum() {
        let c = TestCluster(voters: [1, 2, 3], preVote: false, checkQuorum: true)
        c.preload(1, terms: [1, 1, 1], term: 1)
        let r = c.nodes[1]!
        for _ in 0..<5 { r.tick() }
        #expect(r.electionElapsed == 5)
        // Node 2's log is shorter: the vote is refused and the term adopted. Keeping the timer would
        // let this node time out right after node 2 wins with node 3's vote and depose it (its
        // campaign ignored by node 3, in node 2's lease): seed 500762.
        r.step(Raft.Message(kind: .requestVote, from: 2, to: 1, term: 2, logTerm: 1, index: 1))
        #expect(r.term == 2 && r.vote == 0)
        #expect(r.electionElapsed == 0)
        #expect(r.randomizedElectionTimeout >= 10)
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
