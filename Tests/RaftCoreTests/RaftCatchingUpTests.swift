import Testing
@testable import RaftCore

/// A machine replaced after losing its disk comes back under its old id with an empty storage
/// (`Config.catchingUp`). It must not vote as if it still held its old log until it caught up.
@Suite("Raft node restarted with an empty storage")
struct RaftCatchingUpTests {
    /// Node 3 acknowledged entry X with node 1 (node 2 was cut off), so X is committed on {1, 3}.
    /// Node 3 then loses its disk and node 1 dies: returns the cluster, X and node 2's last index.
    func clusterWhoseCommittedEntryLivesOnlyOnNode1AndLostDisk(catchingUp: Bool) throws -> (TestCluster, [UInt8]) {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        try #require(c.nodes[1]!.role == .leader)
        try c.nodes[1]!.propose([1])
        c.stabilize()
        c.block(1, 2)
        let x: [UInt8] = [0x58]
        try c.nodes[1]!.propose(x)
        c.stabilize()
        try #require(c.appliedData(1).last == x && c.nodes[1]!.commitIndex > c.nodes[2]!.lastIndex)
        // Node 3's disk is gone: a new machine starts under id 3 with an empty storage.
        c.storages[3] = RaftMemoryStorage(confState: Raft.ConfState(voters: [1, 2, 3]))
        c.applied[3] = []
        c.restart(3) { $0.catchingUp = catchingUp }
        c.isolate(1)  // node 1 dies
        return (c, x)
    }

    @Test("an empty-disk node refuses to help elect a candidate that misses a committed entry")
    func refusesVoteWhileCatchingUp() throws {
        let (c, _) = try clusterWhoseCommittedEntryLivesOnlyOnNode1AndLostDisk(catchingUp: true)
        #expect(c.nodes[3]!.isCatchingUp)
        let mark = c.delivered.count
        for _ in 0..<3 { c.campaign(2) }
        c.tickAll(40)
        // Node 2 lacks X; with node 3's vote it would be elected and overwrite X when node 1 returns.
        #expect(c.leaders.isEmpty)
        let answers = c.delivered[mark...].filter { $0.from == 3 && ($0.kind == .preVoteResponse || $0.kind == .voteResponse) }
        #expect(answers.contains { $0.to == 2 && $0.reject })
        #expect(!answers.contains { !$0.reject })
        #expect(c.nodes[3]!.role != .leader)
    }

    @Test("once node 1 is back, the empty-disk node catches up, stops refusing, and X survives")
    func catchesUpThenVotes() throws {
        let (c, x) = try clusterWhoseCommittedEntryLivesOnlyOnNode1AndLostDisk(catchingUp: true)
        for _ in 0..<3 { c.campaign(2) }
        c.heal()
        c.tickAll(60)
        // Only node 1 holds X, and node 3 refuses node 2: node 1 is elected again.
        #expect(c.leaders == [1])
        #expect(c.appliedData(1).contains(x))
        #expect(c.appliedData(3).contains(x))
        #expect(!c.nodes[3]!.isCatchingUp)
        // Caught up, node 3 is an ordinary voter: with node 1 gone, nodes 2 and 3 elect one of them.
        c.isolate(1)
        c.tickAll(60)
        let now = c.leaders.filter { $0 != 1 }
        #expect(now.count == 1)
        if let l = now.first {
            try c.nodes[l]!.propose([0x59])
            c.stabilize()
            #expect(c.appliedData(2).contains(x))
            #expect(c.appliedData(l).contains(x) && c.appliedData(l).last == [0x59])
        }
    }

    @Test("a brand-new cluster whose nodes all start empty and catching up elects a leader and clears the flag")
    func bootstrapStillElects() throws {
        let c = TestCluster(voters: [1, 2, 3]) { $0.catchingUp = true }
        c.tickAll(50)
        #expect(c.leaders.count == 1)
        try c.nodes[c.leaders[0]]!.propose([7])
        c.stabilize()
        c.tickAll(3)
        for id: UInt64 in [1, 2, 3] {
            #expect(!c.nodes[id]!.isCatchingUp, "node \(id)")
            #expect(c.appliedData(id) == [[7]], "node \(id)")
        }
    }
}
