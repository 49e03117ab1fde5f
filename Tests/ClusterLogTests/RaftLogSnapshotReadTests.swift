@testable import ClusterLog
import Foundation
import SpoolStore
import Testing

/// A leader streaming a spool snapshot reads the copy off its raft loop (`RaftLog+SnapshotReads`).
@Suite("Replicated log: a leader streaming a snapshot from a slow disk keeps leading")
struct RaftLogSnapshotReadTests {
    @Test("while each chunk of the spool copy takes longer to read than an election timeout, the leader keeps its term and commits, and the snapshot arrives")
    func slowChunkReadsKeepLeadership() throws {
        let c = try ClusterHarness.lowCompaction()
        let (leader, follower, _) = try c.compactPastStoppedFollower()
        let term = c.logs[leader]!.status().term
        // A disk behind gigabytes of writeback: each chunk read takes 4 s, more than the 1.5–3 s
        // of silence after which a follower campaigns (ClusterHarness.options).
        let reads = ReadCounter()
        _ = c.logs[leader]!.onLoop { log in
            log.snapshotChunkRead = { handle, count in
                reads.add()
                Thread.sleep(forTimeInterval: 4)
                return try handle.read(upToCount: count)
            }
        }
        try c.startNode(follower)
        #expect(c.wait(20) { reads.count > 0 }, "the stream began reading")
        // While the read is under way the leader commits what the other follower acknowledges.
        let during = ["D1", "D2", "D3"]
        #expect(RaftLogClusterTests.proposeAll(during, on: [c.logs[leader]!]).values.allSatisfy { (try? $0.get()) != nil })
        #expect(c.wait(60) { c.logs[follower]!.status().snapshotPending }, "the snapshot arrived")
        let after = c.logs[leader]!.status()
        #expect(after.isLeader && after.term == term, "term \(term) → \(after.term), role \(after.role)")
    }
}

/// Counts calls from any thread.
final class ReadCounter: @unchecked Sendable {
    // Safe: every access holds `lock`.
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return n }
}
