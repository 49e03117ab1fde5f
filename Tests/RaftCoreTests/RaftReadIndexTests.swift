import Testing
@testable import RaftCore

@Suite("Raft read index")
struct RaftReadIndexTests {
    @Test("a single voter answers a read at once with its commit index")
    func singleNode() throws {
        let c = TestCluster(voters: [1])
        c.campaign(1)
        try c.nodes[1]!.propose([1])
        c.stabilize()
        try c.nodes[1]!.readIndex(context: [7])
        c.process(1)
        #expect(c.readStates[1] == [Raft.ReadState(index: c.nodes[1]!.commitIndex, context: [7])])
    }

    @Test("a leader answers a read only after a quorum confirms its leadership")
    func leaderConfirms() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        try c.nodes[1]!.propose([1])
        c.stabilize()
        let commit = c.nodes[1]!.commitIndex
        c.isolate(1)
        try c.nodes[1]!.readIndex(context: [1, 1])
        c.stabilize()
        #expect(c.readStates[1, default: []].isEmpty)   // cut off: no confirmation, no answer
        c.heal()
        try c.nodes[1]!.readIndex(context: [1, 2])
        c.stabilize()
        // The confirmation of the later read releases the earlier one too, in order.
        #expect(c.readStates[1] == [Raft.ReadState(index: commit, context: [1, 1]), Raft.ReadState(index: commit, context: [1, 2])])
    }

    @Test("a follower's read is confirmed by the leader and answered on the follower")
    func followerRead() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        try c.nodes[1]!.propose([1])
        c.stabilize()
        try c.nodes[3]!.readIndex(context: [3])
        c.stabilize()
        #expect(c.readStates[3] == [Raft.ReadState(index: c.nodes[1]!.commitIndex, context: [3])])
        #expect(c.readStates[1, default: []].isEmpty)
    }

    @Test("a new leader answers reads only after committing an entry of its own term")
    func newLeaderWaits() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.dropFilter = { $0.kind == .appendResponse }
        c.campaign(1)
        #expect(c.nodes[1]!.role == .leader)
        try c.nodes[1]!.readIndex(context: [9])
        c.stabilize()
        #expect(c.readStates[1, default: []].isEmpty)
        c.dropFilter = nil
        c.tickAll(2)
        #expect(c.readStates[1]?.first?.context == [9])
        #expect(c.readStates[1]?.first?.index == c.nodes[1]!.commitIndex)
    }

    @Test("a read with no known leader is refused")
    func noLeader() {
        let c = TestCluster(voters: [1, 2, 3])
        #expect(throws: Raft.Error.self) { try c.nodes[2]!.readIndex(context: [1]) }
    }
}
