import Testing
@testable import RaftCore

/// A follower restarted from an older copy of its storage (a backup, or a lost disk) lacks entries
/// it acknowledged. The leader must notice from its rejections and catch it up again.
@Suite("Raft follower restored from a backup")
struct RaftRestoredFollowerTests {
    @Test("a follower restored from an older copy of its log is caught up by the leader and applies everything")
    func restoredFollowerCatchesUp() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        try #require(c.nodes[1]!.role == .leader)
        for i in 0..<3 { try c.nodes[1]!.propose([UInt8(i)]) }
        c.stabilize()
        let backup = c.storages[3]!.copy()          // the backup of node 3
        let atBackup = backup.lastIndex
        for i in 3..<8 { try c.nodes[1]!.propose([UInt8(i)]) }
        c.stabilize()
        let leader = c.nodes[1]!
        try #require(leader.progress[3]!.match == leader.lastIndex && leader.lastIndex > atBackup)

        // Node 3's machine is lost; it restarts from the backup.
        c.storages[3] = backup
        c.applied[3] = []
        c.restart(3)
        #expect(c.nodes[3]!.lastIndex == atBackup)
        // The leader still believes node 3 has everything. With no new mail, its heartbeats (whose
        // commit index is past node 3's log) are what shows the gap.
        c.tickAll(5)
        #expect(c.nodes[3]!.lastIndex == leader.lastIndex)
        #expect(c.nodes[3]!.commitIndex == leader.commitIndex)
        // And replication carries on.
        try c.nodes[1]!.propose([99])
        c.stabilize()
        #expect(c.nodes[3]!.lastIndex == leader.lastIndex)
        #expect(c.nodes[3]!.commitIndex == leader.commitIndex)
        #expect(leader.progress[3]!.match == leader.lastIndex)
        #expect(c.appliedData(3).last == [99])
    }
}
