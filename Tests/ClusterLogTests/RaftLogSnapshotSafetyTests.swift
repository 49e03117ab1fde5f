@testable import ClusterLog
import Foundation
import RaftCore
import SpoolStore
import Testing

@Suite("Replicated log: refusing stale spool snapshots")
struct RaftLogSnapshotSafetyTests {
    /// A spool copy of `store` in a fresh directory, with its applied position.
    static func copy(_ store: SpoolStore, to dir: String) throws -> (index: UInt64, term: UInt64) {
        try store.backup(to: dir)
        let c = try SpoolStore(directory: dir, options: SpoolStore.Options(mapSize: 1 << 30))
        defer { c.close() }
        return try c.lastApplied()
    }

    @Test("a snapshot not ahead of the node's commit, or sent in an older term, is refused at install; the node keeps its entries and restarts")
    func installRefusesStale() throws {
        let c = try ClusterHarness(nodes: 1) { o in
            o.compactThreshold = 10
            o.retainedEntries = 2
        }
        #expect(c.awaitLeader() == "n1")
        let early = (0..<5).map { "A\($0)" }
        #expect(RaftLogClusterTests.proposeAll(early, on: c.running).values.allSatisfy { (try? $0.get()) != nil })
        let old = try Self.copy(c.stores["n1"]!, to: "\(c.root)/copy1")
        // Later entries, and compaction past the copy: installing it would drop the log below the
        // commit index (the node could not start again) and lose these entries.
        let late = (0..<30).map { "B\($0)" }
        #expect(RaftLogClusterTests.proposeAll(late, on: c.running).values.allSatisfy { (try? $0.get()) != nil })
        #expect(c.wait(10) { c.logs["n1"]!.status().firstIndex > old.index + 1 })
        let st = c.logs["n1"]!.status()
        c.stopNode("n1")
        let raftDir = "\(c.root)/n1/raft", spoolDir = "\(c.root)/n1/spool"
        let conf = Raft.ConfState(voters: [NodeIDMap.raftID("n1")])

        // Older than the commit index, though sent in the current term.
        try RaftLog.publishSnapshot(raftDirectory: raftDir, incoming: "\(c.root)/copy1",
                                    meta: .init(index: old.index, term: old.term, leaderTerm: st.term, conf: conf))
        let lines = LogLines()
        #expect(try RaftLog.installPendingSnapshot(raftDirectory: raftDir, spoolDirectory: spoolDir, logSink: lines.sink) == false)
        #expect(lines.contains("refused to install a spool snapshot: index \(old.index) is not ahead"), "\(lines.lines.withLock { $0 })")
        #expect(!FileManager.default.fileExists(atPath: raftDir + "/snapshot"))

        // Ahead of the node, but sent in a term older than the node's.
        _ = try FileManager.default.createDirectory(atPath: "\(c.root)/copy2", withIntermediateDirectories: true)
        try Data("not a spool".utf8).write(to: URL(fileURLWithPath: "\(c.root)/copy2/data.mdb"))
        try RaftLog.publishSnapshot(raftDirectory: raftDir, incoming: "\(c.root)/copy2",
                                    meta: .init(index: st.commit + 100, term: st.term, leaderTerm: st.term - 1, conf: conf))
        #expect(try RaftLog.installPendingSnapshot(raftDirectory: raftDir, spoolDirectory: spoolDir, logSink: lines.sink) == false)
        #expect(lines.contains("refused to install a spool snapshot: sent in term \(st.term - 1)"), "\(lines.lines.withLock { $0 })")

        // The node starts from its own state, with everything it acknowledged.
        try c.startNode("n1")
        #expect(c.awaitLeader() == "n1")
        #expect(RaftLogClusterTests.has(c.stores["n1"]!, early + late))
        #expect(RaftLogClusterTests.proposeAll(["C1"], on: c.running).values.allSatisfy { (try? $0.get()) != nil })
    }

    @Test("a streamed snapshot is kept only from the current leader, in the current term, and ahead of the follower's commit")
    func receiveRefusesStale() throws {
        let c = try ClusterHarness(nodes: 3)
        let leader = try #require(c.awaitLeader())
        #expect(RaftLogClusterTests.proposeAll(["S1", "S2"], on: c.running).values.allSatisfy { (try? $0.get()) != nil })
        let follower = c.names.first { $0 != leader }!
        let other = c.names.first { $0 != leader && $0 != follower }!
        let log = c.logs[follower]!
        #expect(c.wait(10) { log.status().applied >= c.logs[leader]!.status().commit })

        /// Streams a one-chunk snapshot into the follower as if from `peer`, at the follower's
        /// commit index + `indexDelta` and its term + `termDelta` (read on its loop); whether it was
        /// kept, once its end frame was handled (after the writes, off the loop).
        func kept(from peer: String, id: UInt64, indexDelta: Int64, termDelta: Int64) -> Bool {
            let ended = log.onLoop { $0.snapshotStreamsEnded }
            let injected = log.onLoop { l in
                let i = UInt64(Int64(l.raft.commitIndex) + indexDelta)
                let t = UInt64(Int64(l.raft.term) + termDelta)
                let data: [UInt8] = Array("spool bytes".utf8)
                var chunk = [UInt8]()
                chunk.appendUInt64(id)
                chunk.appendUInt64(0)
                chunk += data
                l.received(PeerFrame(.snapshotChunk, chunk), from: peer)
                guard l.incomingSnapshot != nil else { return false }  // refused at its first chunk
                let end = RaftLog.snapshotEndPayload(id: id, size: UInt64(data.count), index: i, term: l.raft.term,
                                                     conf: l.raft.confState, leaderTerm: t)
                l.received(PeerFrame(.snapshotEnd, end), from: peer)
                return l.incomingSnapshot == nil
            }
            guard injected else { return false }
            #expect(c.wait(10) { log.onLoop { $0.snapshotStreamsEnded } > ended }, "its end was handled")
            return log.onLoop { $0.snapshotPending }
        }
        #expect(!kept(from: other, id: 1, indexDelta: 1000, termDelta: 0), "from a member that does not lead")
        #expect(!kept(from: leader, id: 2, indexDelta: 1000, termDelta: -1), "sent in an earlier term")
        #expect(!kept(from: leader, id: 3, indexDelta: 0, termDelta: 0), "not ahead of the commit index")
        #expect(!FileManager.default.fileExists(atPath: "\(c.root)/\(follower)/raft/snapshot"))
        // The same stream from the leader, current and ahead, is kept (the injection path works).
        #expect(kept(from: leader, id: 4, indexDelta: 1000, termDelta: 0))
        #expect(log.status().snapshotPending)
    }
}
