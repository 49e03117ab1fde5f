import Foundation
import SpoolStore
import Testing
@testable import ClusterLog

/// A node whose raft log cannot be written (its map or disk is full) holds back instead of
/// crashing: it acknowledges nothing it could not store, and the majority goes on without it.
@Suite("Raft log storage full")
struct RaftLogStorageFullTests {
    @Test("a follower whose raft log map fills up keeps running and logs why; the other two commit every proposal")
    func followerWithFullRaftLog() throws {
        let lines = LogLines()
        let c = try ClusterHarness(nodes: 3, logLines: lines) { o in
            if o.nodeID == "n3" { o.mapSize = 1 << 20 }
        }
        let leader = try #require(c.awaitLeader())
        // Proposals go to the leader, or to n1/n2 when n3 leads (it cannot hold them).
        let target = leader == "n3" ? c.logs["n1"]! : c.logs[leader]!
        let ids = (0..<40).map { "F\($0)" }
        let results = Results()
        for (i, id) in ids.enumerated() {
            target.propose(ClusterHarness.enqueue(id, size: 64 * 1024)) { results.set(i, $0) }
        }
        #expect(c.wait(60) { results.count == ids.count })
        let failures = results.all.values.filter { (try? $0.get()) == nil }
        // While n3 led, some may have failed; the rest must commit on the majority.
        #expect(failures.count < ids.count / 2, "\(failures)")
        #expect(c.wait(20) { lines.contains("raft storage write failed; this node holds back until it can write") })
        // n3 is still there (a crash would have taken the whole test process with it).
        #expect(c.logs["n3"]!.status().term > 0)
        // n3 answers its own proposals at once with storageFull while it cannot write.
        if c.logs["n3"]!.status().leader != nil {
            let r = Results()
            c.logs["n3"]!.propose(ClusterHarness.enqueue("late")) { r.set(0, $0) }
            #expect(c.wait(10) { r.count == 1 })
        }
    }
}
