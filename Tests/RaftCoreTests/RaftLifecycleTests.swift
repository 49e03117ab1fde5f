import Testing
@testable import RaftCore

@Suite("Raft lifecycle and Ready contract")
struct RaftLifecycleTests {
    @Test("a learner never campaigns, however long it hears nothing")
    func learnerNeverCampaigns() {
        let c = TestCluster(voters: [1, 2, 3], learners: [4])
        c.isolate(4)
        c.tick(4, 200)
        #expect(c.nodes[4]!.role == .follower)
        #expect(c.nodes[4]!.term == 0)
        #expect(!c.queue.contains { $0.from == 4 })
    }

    @Test("a vote is in a Ready's hard state that must be synced before the vote response goes out")
    func voteNeedsSync() {
        let c = TestCluster(voters: [1, 2, 3], preVote: false)
        let r = c.nodes[2]!
        r.step(Raft.Message(kind: .requestVote, from: 1, to: 2, term: 1, logTerm: 0, index: 0))
        let rd = r.ready()
        #expect(rd.hardState == Raft.HardState(term: 1, vote: 1, commit: 0))
        #expect(rd.mustSync)
        #expect(rd.messages.map(\.kind) == [.voteResponse])
        #expect(!r.hasReady)   // nothing more until advance
        r.advance(rd)
        #expect(!r.hasReady)
    }

    @Test("a vote survives a restart: the same term's vote is not given to another candidate")
    func votePersists() {
        let c = TestCluster(voters: [1, 2, 3], preVote: false)
        c.nodes[2]!.step(Raft.Message(kind: .requestVote, from: 1, to: 2, term: 5, logTerm: 0, index: 0))
        c.process(2)
        c.queue.removeAll()
        c.restart(2)
        c.nodes[2]!.step(Raft.Message(kind: .requestVote, from: 3, to: 2, term: 5, logTerm: 0, index: 0))
        c.process(2)
        #expect(c.queue.map(\.reject) == [true])
        #expect(c.nodes[2]!.vote == 1)
    }

    @Test("duplicated and reordered appends leave the follower log unchanged")
    func duplicateAppendsIdempotent() throws {
        let c = TestCluster(voters: [1, 2])
        c.campaign(1)
        for i in 0..<3 { try c.nodes[1]!.propose([UInt8(i)]) }
        c.process(1)
        let appends = c.queue.filter { $0.kind == .appendEntries && $0.to == 2 }
        c.stabilize()
        let before = try c.storages[2]!.entries(from: 1, to: c.storages[2]!.lastIndex + 1, maxBytes: .max)
        for m in appends.reversed() + appends { c.nodes[2]!.step(m) }
        c.process(2)
        let after = try c.storages[2]!.entries(from: 1, to: c.storages[2]!.lastIndex + 1, maxBytes: .max)
        #expect(before == after)
        #expect(c.appliedData(2) == [[0], [1], [2]])
    }

    @Test("a leader that sees a higher term in a response steps down to follower")
    func leaderStepsDownOnHigherTerm() {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        let t = c.nodes[1]!.term
        c.nodes[1]!.step(Raft.Message(kind: .heartbeatResponse, from: 2, to: 1, term: t + 3))
        #expect(c.nodes[1]!.role == .follower)
        #expect(c.nodes[1]!.term == t + 3)
        #expect(c.nodes[1]!.leader == 0)
    }

    @Test("after a restart a node treats its snapshot as applied and re-applies only later committed entries")
    func restartFromSnapshot() throws {
        let c = TestCluster(voters: [1])
        c.campaign(1)
        for i in 0..<10 { try c.nodes[1]!.propose([UInt8(i)]) }
        c.stabilize()
        let st = c.storages[1]!
        try st.createSnapshot(index: 6, confState: c.nodes[1]!.confState, data: [6])
        st.compact(to: 4)
        c.restart(1)
        let r = c.nodes[1]!
        #expect(r.appliedIndex == 6)
        #expect(r.commitIndex == 11)
        let rd = r.ready()
        #expect(rd.committedEntries.map(\.index) == Array(7...11))
        r.advance(rd)
        #expect(r.appliedIndex == 11)
    }

    @Test("a stale leader's append after a new election is answered with the new term and ignored")
    func staleLeaderIgnored() {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        let old = c.nodes[1]!.term
        c.isolate(1)
        c.tickAll(60)   // past the leader lease, 2 and 3 elect a new leader
        let newLeaders = c.leaders.filter { $0 != 1 }
        #expect(newLeaders.count == 1)
        let follower: UInt64 = newLeaders.first == 2 ? 3 : 2
        let newTerm = c.nodes[follower]!.term
        #expect(newTerm > old)
        let f = c.nodes[follower]!
        let before = f.lastIndex
        f.step(Raft.Message(kind: .appendEntries, from: 1, to: follower, term: old, logTerm: old, index: before,
                            entries: [Raft.Entry(term: old, index: before + 1, data: [66])]))
        #expect(f.lastIndex == before)
        let rd = f.ready()
        #expect(rd.messages.contains { $0.to == 1 && $0.term == newTerm })
    }
}
