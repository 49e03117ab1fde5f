import Foundation
import Testing

extension ClusterHarness {
    /// Three nodes that compact early: past 30 entries, keeping 5, and a silent member holds
    /// compaction back for 1 s only.
    static func lowCompaction() throws -> ClusterHarness {
        try ClusterHarness(nodes: 3) { o in
            o.compactThreshold = 30
            o.retainedEntries = 5
            o.compactionHoldSeconds = 1
        }
    }

    /// With compaction tuned low (threshold 30, 5 retained, a hold of 1 s): commits ten messages
    /// everywhere, stops a follower, commits 80 more and proposes until the leader compacted past
    /// what the stopped follower has. Returns the leader, the stopped follower and every id
    /// committed. Records test failures through `#expect`.
    func compactPastStoppedFollower() throws -> (leader: String, follower: String, ids: [String]) {
        let leader = try #require(awaitLeader())
        let follower = names.first { $0 != leader }!
        let early = (0..<10).map { "E\($0)" }
        #expect(RaftLogClusterTests.proposeAll(early, on: running).values.allSatisfy { (try? $0.get()) != nil })
        #expect(wait(10) { RaftLogClusterTests.has(stores[follower]!, early) })
        stopNode(follower)
        let stoppedMatch = logs[leader]!.status().peers.first { $0.id == follower }!.match
        let late = (0..<80).map { "F\($0)" }
        #expect(RaftLogClusterTests.proposeAll(late, on: running).values.allSatisfy { (try? $0.get()) != nil })
        // Once the hold has passed, the leader compacts beyond what the stopped member has.
        #expect(wait(15) {
            _ = RaftLogClusterTests.proposeAll(["P-\(UUID().uuidString.prefix(6))"], on: [logs[leader]!])
            return logs[leader]!.status().firstIndex > stoppedMatch + 1
        }, "first \(logs[leader]!.status().firstIndex) stopped member's match \(stoppedMatch)")
        return (leader, follower, early + late)
    }
}
