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
            // Clients retry what was not committed in time (below): the default proposal timeout,
            // not the harness's 30 s hang guard.
            o.proposalTimeout = 5
        }
        _ = try #require(c.awaitLeader())
        // Clients retry until acknowledged (as SMTP clients do); proposals go through n1 or n2,
        // which forward to whoever leads. While n3 leads (it cannot store anything) they fail, and
        // the others elect a leader that can.
        let ids = (0..<40).map { "F\($0)" }
        var pending = Set(ids)
        let deadline = Date().addingTimeInterval(90)
        var round = 0
        while !pending.isEmpty && Date() < deadline {
            let target = c.logs[round % 2 == 0 ? "n1" : "n2"]!
            round += 1
            let batch = Array(pending)
            let results = Results()
            for (i, id) in batch.enumerated() {
                target.propose(ClusterHarness.enqueue(id, size: 64 * 1024)) { results.set(i, $0) }
            }
            _ = c.wait(30) { results.count == batch.count }
            for (i, r) in results.all {
                if case .success = r { pending.remove(batch[i]) }
                // A duplicate means an earlier try committed after all.
                if case .failure(let e) = r, e.code == .duplicate { pending.remove(batch[i]) }
            }
        }
        #expect(pending.isEmpty, "never committed: \(pending.sorted())")
        // Both healthy nodes hold every message.
        #expect(c.wait(20) { ["n1", "n2"].allSatisfy { n in ids.allSatisfy { (try? c.stores[n]!.message(id: $0)) != nil } } })
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
