import Testing
@testable import RaftCore

@Suite("Raft membership")
struct RaftMembershipTests {
    @Test("add a learner, catch it up, promote it, then remove a voter; one change at a time")
    func learnerLifecycle() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        let leader = c.nodes[1]!
        c.addBlankNode(4, confState: leader.confState)
        try leader.proposeConfChange(Raft.ConfChange(.addLearner, nodeID: 4))
        // A second change is refused while the first is pending.
        #expect(throws: Raft.Error.self) { try leader.proposeConfChange(Raft.ConfChange(.removeNode, nodeID: 3)) }
        c.stabilize()
        c.tickAll(2)
        #expect(leader.learners == [4])
        #expect(c.nodes[4]!.learners == [4])
        try leader.propose([7])
        c.stabilize()
        #expect(c.appliedData(4) == [[7]])
        #expect(!c.nodes[4]!.isPromotable)

        // A learner does not count toward the quorum: with 2 and 3 down nothing commits.
        c.isolate(2); c.isolate(3)
        let (idx, _) = try leader.propose([8])
        c.stabilize()
        #expect(leader.commitIndex < idx)
        c.heal()
        c.stabilize()
        c.tickAll(1)
        #expect(leader.commitIndex >= idx)

        try leader.proposeConfChange(Raft.ConfChange(.promoteToVoter, nodeID: 4))
        c.stabilize()
        c.tickAll(1)
        #expect(leader.voters == [1, 2, 3, 4])
        #expect(c.nodes[4]!.isPromotable)
        #expect(c.storages[4]!.confState.voters == [1, 2, 3, 4])

        try leader.proposeConfChange(Raft.ConfChange(.removeNode, nodeID: 2))
        c.stabilize()
        c.tickAll(1)
        #expect(leader.voters == [1, 3, 4])
        #expect(leader.progress[2] == nil)
        // Quorum is now 2 of {1,3,4}.
        c.isolate(3)
        try leader.propose([9])
        c.stabilize()
        #expect(c.appliedData(4).last == [9])
    }

    @Test("invalid membership changes are rejected with invalidConfChange")
    func invalidChanges() {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        c.tickAll(1)
        let leader = c.nodes[1]!
        for cc in [Raft.ConfChange(.addLearner, nodeID: 2), Raft.ConfChange(.promoteToVoter, nodeID: 9),
                   Raft.ConfChange(.removeNode, nodeID: 9)] {
            do {
                try leader.proposeConfChange(cc)
                Issue.record("accepted \(cc)")
            } catch {
                #expect(error.code == .invalidConfChange)
            }
        }
    }

    @Test("a leader that removes itself steps down and the rest elect a new leader")
    func removeLeader() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        c.tickAll(1)
        try c.nodes[1]!.proposeConfChange(Raft.ConfChange(.removeNode, nodeID: 1))
        c.stabilize()
        #expect(c.nodes[1]!.role == .follower)
        #expect(c.nodes[2]!.voters == [2, 3])
        c.tickAll(60)
        let leaders = c.leaders
        #expect(leaders.count == 1 && leaders[0] != 1)
    }

    @Test("a removed node that missed its removal cannot disrupt the cluster (pre-vote + leader lease)")
    func removedNodeHarmless() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        c.tickAll(1)
        c.isolate(3)
        try c.nodes[1]!.proposeConfChange(Raft.ConfChange(.removeNode, nodeID: 3))
        c.stabilize()
        c.tickAll(1)
        #expect(c.nodes[1]!.voters == [1, 2])
        #expect(c.nodes[3]!.voters == [1, 2, 3])   // never heard of it
        let term = c.nodes[1]!.term
        c.heal()
        c.tickAll(100)
        #expect(c.nodes[1]!.role == .leader && c.nodes[1]!.term == term)
        #expect(c.nodes[2]!.leader == 1)
    }

    @Test("a conf change payload round-trips and garbage is rejected")
    func confChangeCodec() throws {
        let cc = Raft.ConfChange(.promoteToVoter, nodeID: 0xDEAD_BEEF_CAFE)
        #expect(try Raft.ConfChange.decode(cc.encode()) == cc)
        #expect(throws: Raft.Error.self) { try Raft.ConfChange.decode([9, 1, 2]) }
    }
}
