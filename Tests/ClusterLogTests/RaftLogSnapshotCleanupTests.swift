@testable import ClusterLog
import Foundation
import NetworkIO
import Synchronization
import Testing

/// Spool copies and partial snapshots are removed, off the raft loop (`RaftLog+SnapshotCleanup`).
@Suite("Replicated log: snapshot copies do not outlive their stream")
struct RaftLogSnapshotCleanupTests {
    @Test("copies and a partial incoming snapshot left by a previous run are removed after the log opens")
    func staleCopiesRemovedAtOpen() throws {
        let c = try ClusterHarness(nodes: 1)
        c.stopNode("n1")
        let raftDir = "\(c.root)/n1/raft"
        let fm = FileManager.default
        for dir in ["outgoing-42", "outgoing-7", "incoming"] {
            try fm.createDirectory(atPath: "\(raftDir)/\(dir)", withIntermediateDirectories: true)
            #expect(fm.createFile(atPath: "\(raftDir)/\(dir)/data.mdb", contents: Data(count: 4096)))
        }
        try c.startNode("n1")
        let leftovers = {
            ((try? fm.contentsOfDirectory(atPath: raftDir)) ?? [])
                .filter { $0.hasPrefix("outgoing-") || $0.hasPrefix("stale-") || $0 == "incoming" }
        }
        #expect(c.wait(20) { leftovers().isEmpty }, "left: \(leftovers())")
        #expect(fm.fileExists(atPath: raftDir + "/data.mdb"), "the raft log itself stays")
    }

    @Test("at start-up a partial incoming snapshot is set aside by a rename, not deleted in the start-up path, and the opened log removes it")
    func partialIncomingSetAsideAtInstall() throws {
        let c = try ClusterHarness(nodes: 1)
        c.stopNode("n1")
        let raftDir = "\(c.root)/n1/raft"
        let fm = FileManager.default
        try fm.createDirectory(atPath: "\(raftDir)/incoming", withIntermediateDirectories: true)
        #expect(fm.createFile(atPath: "\(raftDir)/incoming/data.mdb", contents: Data(count: 4096)))
        let installed = try RaftLog.installPendingSnapshot(raftDirectory: raftDir, spoolDirectory: "\(c.root)/n1/spool-none")
        #expect(!installed)
        let names = { (try? fm.contentsOfDirectory(atPath: raftDir)) ?? [] }
        #expect(!names().contains("incoming"))
        #expect(names().contains { $0.hasPrefix("stale-incoming-") }, "the partial stream was deleted in the start-up path: \(names())")
        try c.startNode("n1")
        #expect(c.wait(20) { !names().contains { $0.hasPrefix("stale-") } }, "left: \(names())")
    }

    @Test("a copy aborted while being built, one whose leader steps down, and one in progress when the node stops are removed, none on the raft loop")
    func abortedCopiesRemovedOffLoop() throws {
        let lines = LogLines()
        let c = try ClusterHarness(nodes: 3, logLines: lines)
        let leader = try #require(c.awaitLeader())
        let followers = c.names.filter { $0 != leader }
        let removals = Removals()
        let log = c.logs[leader]!
        let loop = log.loop
        _ = log.onLoop { l in
            l.snapshotCopyRemove = { dir in
                removals.add(dir, onLoop: loop.inLoop)
                try? FileManager.default.removeItem(atPath: dir)
            }
        }
        let raftDir = "\(c.root)/\(leader)/raft"
        let copies = {
            ((try? FileManager.default.contentsOfDirectory(atPath: raftDir)) ?? []).filter { $0.hasPrefix("outgoing-") }
        }
        // Aborted at once: the copy is still being built; its builder removes it when done.
        _ = log.onLoop { l in
            l.startSnapshotStream(to: followers[0])
            l.abortSnapshot(followers[0])
        }
        #expect(c.wait(20) { removals.count == 1 && copies().isEmpty }, "removed \(removals.count), left \(copies())")
        #expect(removals.onLoop == 0, "the copy aborted while being built was removed on the raft loop")
        // The leader steps down while streaming to the other follower (a chunk read held until then).
        let reads = ReadCounter()
        let gate = DispatchSemaphore(value: 0)
        defer { gate.signal() }  // never leaves a reader waiting when an expectation fails
        _ = log.onLoop { l in
            l.snapshotChunkRead = { handle, count in
                reads.add()
                gate.wait()
                return try handle.read(upToCount: count)
            }
            l.startSnapshotStream(to: followers[1])
        }
        #expect(c.wait(20) { reads.count > 0 }, "the stream began reading")
        let moved = Mutex<Bool?>(nil)
        log.transferLeadership(to: followers[0]) { r in moved.withLock { $0 = (try? r.get()) != nil } }
        #expect(c.wait(20) { moved.withLock { $0 } != nil })
        #expect(removals.count == 1, "the stream was not finished before the leader stepped down")
        gate.signal()
        #expect(c.wait(20) { removals.count == 2 && copies().isEmpty }, "removed \(removals.count), left \(copies())")
        #expect(!lines.contains("snapshot sent"), "the stream was aborted, not finished, when the leader stepped down")
        // The node stops while it streams a copy (a chunk read held until the node has stopped).
        let next = try #require(c.awaitLeader())
        let removalsNext = Removals()
        let nextLog = c.logs[next]!
        let nextLoop = nextLog.loop
        let peer = c.names.first { $0 != next }!
        let nextReads = ReadCounter()
        let nextGate = DispatchSemaphore(value: 0)
        defer { nextGate.signal() }
        _ = nextLog.onLoop { l in
            l.snapshotCopyRemove = { dir in
                removalsNext.add(dir, onLoop: nextLoop.inLoop)
                try? FileManager.default.removeItem(atPath: dir)
            }
            l.snapshotChunkRead = { handle, count in
                nextReads.add()
                nextGate.wait()
                return try handle.read(upToCount: count)
            }
            l.startSnapshotStream(to: peer)
        }
        #expect(c.wait(20) { nextReads.count > 0 }, "the stream began reading")
        c.stopNode(next)
        nextGate.signal()
        let nextDir = "\(c.root)/\(next)/raft"
        let nextCopies = {
            ((try? FileManager.default.contentsOfDirectory(atPath: nextDir)) ?? []).filter { $0.hasPrefix("outgoing-") }
        }
        #expect(c.wait(20) { removalsNext.count == 1 && nextCopies().isEmpty },
                "removed \(removalsNext.count), left \(nextCopies())")
        #expect(removals.onLoop == 0 && removalsNext.onLoop == 0, "copies removed on the raft loop")
    }
}

/// Records removals from any thread.
final class Removals: Sendable {
    private let state = Mutex<(dirs: [String], onLoop: Int)>(([], 0))
    func add(_ dir: String, onLoop: Bool) { state.withLock { $0.dirs.append(dir); if onLoop { $0.onLoop += 1 } } }
    var count: Int { state.withLock { $0.dirs.count } }
    var onLoop: Int { state.withLock { $0.onLoop } }
}
