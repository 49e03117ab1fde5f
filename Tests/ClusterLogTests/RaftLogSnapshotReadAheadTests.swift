@testable import ClusterLog
import Foundation
import Synchronization
import Testing

/// A leader reads a snapshot's chunks ahead of sending them, up to the stream's window
/// (`RaftLog+SnapshotReads`).
@Suite("Replicated log: a snapshot stream reads ahead and sends in order")
struct RaftLogSnapshotReadAheadTests {
    @Test("with a slow disk, the leader queues reads up to the window, reads each chunk once in order, and the follower receives the whole copy")
    func readAheadInOrder() throws {
        let lines = LogLines()
        let c = try ClusterHarness(nodes: 3, logLines: lines)
        let leader = try #require(c.awaitLeader())
        let follower = c.names.first { $0 != leader }!
        // About 12 MiB of bodies: a copy of more chunks than the 8 MiB window holds.
        let results = Results()
        for i in 0..<12 {
            c.logs[leader]!.propose(ClusterHarness.enqueue("R\(i)", size: 1 << 20)) { results.set(i, $0) }
        }
        #expect(c.wait(60) { results.count == 12 })  // a hang guard beyond the 30 s proposal timeout
        #expect(results.all.values.allSatisfy { (try? $0.get()) != nil })
        let offsets = Mutex<[UInt64]>([])
        let gate = DispatchSemaphore(value: 0)
        defer { gate.signal() }  // never leaves the reader waiting when an expectation fails
        _ = c.logs[leader]!.onLoop { l in
            l.snapshotChunkRead = { handle, count in
                let first = offsets.withLock { o in
                    o.append(handle.offsetInFile)
                    return o.count == 1
                }
                if first { gate.wait() } else { Thread.sleep(forTimeInterval: 0.05) }  // a slow disk
                return try handle.read(upToCount: count)
            }
            l.startSnapshotStream(to: follower)
        }
        #expect(c.wait(30) { offsets.withLock { $0.count } == 1 }, "the stream began reading")
        // While the first read is held, the loop has queued the next ones up to the window.
        let ahead = c.logs[leader]!.onLoop { l in l.outgoingSnapshots[follower].map { $0.requested - $0.offset } ?? 0 }
        #expect(ahead > UInt64(RaftLog.snapshotChunk) && ahead <= UInt64(RaftLog.snapshotWindow), "read ahead \(ahead)")
        gate.signal()
        // The follower drops a stream at the first gap, so an ended stream arrived whole and in order.
        #expect(c.wait(60) { c.logs[follower]!.onLoop { $0.snapshotStreamsEnded } == 1 }, "the stream reached the follower")
        #expect(c.wait(10) { lines.contains("snapshot sent") })
        let sent = lines.lines.withLock { $0.first { $0.contains("snapshot sent") } } ?? ""
        let read = offsets.withLock { $0 }
        let chunk = UInt64(RaftLog.snapshotChunk)
        #expect(read == (0..<UInt64(read.count)).map { $0 * chunk }, "read offsets \(read)")
        #expect(read.count > RaftLog.snapshotWindow / RaftLog.snapshotChunk, "\(read.count) chunks")
        #expect(sent.contains("bytes=") && read.count == Int((Self.bytes(sent) + chunk - 1) / chunk), "\(sent)")
    }

    /// The `bytes=` field of a log line.
    static func bytes(_ line: String) -> UInt64 {
        guard let r = line.range(of: "bytes=") else { return 0 }
        return UInt64(line[r.upperBound...].prefix { $0.isNumber }) ?? 0
    }
}
