@testable import ClusterLog
import Foundation
import SpoolStore
import Testing

/// A follower writes a received snapshot stream off its raft loop (`RaftLog+SnapshotWrites`).
@Suite("Replicated log: a follower writing a snapshot to a slow disk keeps answering")
struct RaftLogSnapshotWriteTests {
    @Test("while a chunk write of the incoming snapshot is stuck, the follower's loop still runs; once it goes on the snapshot is published")
    func stuckChunkWriteLeavesLoopFree() throws {
        let c = try ClusterHarness.lowCompaction()
        let (leader, follower, _) = try c.compactPastStoppedFollower()
        // The leader's first read waits a second, so the follower's hook below is in place first.
        _ = c.logs[leader]!.onLoop { log in
            log.snapshotChunkRead = { handle, count in
                Thread.sleep(forTimeInterval: 1)
                return try handle.read(upToCount: count)
            }
        }
        let gate = DispatchSemaphore(value: 0)
        let writes = ReadCounter()
        try c.startNode(follower)
        let back = c.logs[follower]!
        _ = back.onLoop { log in
            log.snapshotChunkWrite = { handle, data in
                writes.add()
                gate.wait()  // a disk that does not take the write until the test lets it
                try handle.write(contentsOf: data)
            }
        }
        #expect(c.wait(20) { writes.count > 0 }, "a chunk write began")
        let answered = ReadCounter()
        Thread.detachNewThread {
            _ = back.onLoop { $0.raft.term }
            answered.add()
        }
        #expect(c.wait(10) { answered.count > 0 }, "the follower's loop ran while the write was stuck")
        #expect(!back.status().snapshotPending, "not published before its chunks are written")
        for _ in 0..<64 { gate.signal() }
        #expect(c.wait(30) { back.status().snapshotPending }, "the snapshot was published")
    }
}
