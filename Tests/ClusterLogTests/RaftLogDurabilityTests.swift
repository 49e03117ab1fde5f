@testable import ClusterLog
import Foundation
import RaftCore
import SpoolStore
import Synchronization
import Testing

@Suite("Replicated log: durability of the raft state")
struct RaftLogDurabilityTests {
    @Test("every raft storage write is fsynced; a commit-index-only change is written with the next entries")
    func neverNoSync() throws {
        let dir = RaftLogStorageTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let s = try RaftLogStorage(directory: dir, initialVoters: [1])
            var commits = s.commitCount
            func wrote(_ what: String) {
                #expect(s.commitCount == commits + 1, "\(what) committed \(s.commitCount - commits) transactions")
                #expect(!s.lastCommitSkippedSync, "\(what) committed without fsync")
                commits = s.commitCount
            }
            try s.persist(entries: RaftLogStorageTests.entries(1...5, term: 1), hardState: Raft.HardState(term: 1, vote: 1, commit: 0))
            wrote("entries")
            try s.persist(entries: [], hardState: Raft.HardState(term: 1, vote: 1, commit: 5))
            #expect(s.commitCount == commits, "a commit-only change was written on its own")
            #expect(!s.lastCommitSkippedSync, "a commit-only change committed without fsync")
            #expect(s.initialState().hardState.commit == 5)
            try s.persist(entries: [], hardState: Raft.HardState(term: 2, vote: 0, commit: 5))
            wrote("a new term")
            try s.persist(entries: RaftLogStorageTests.entries(6...7, term: 2), hardState: nil)
            wrote("entries without a hard state")
            try s.setConfState(Raft.ConfState(voters: [1, 2]))
            wrote("membership")
            try s.setMember("n2", address: "127.0.0.1:1")
            wrote("member address")
            try s.compact(to: 3)
            wrote("compaction")
            try s.reset(toSnapshot: 6, term: 2, confState: Raft.ConfState(voters: [1, 2]))
            wrote("snapshot reset")
            s.close()
        }
        // Recovery: the last written hard state, the log tail after the snapshot point.
        let s = try RaftLogStorage(directory: dir, initialVoters: [9])
        #expect(s.initialState().hardState == Raft.HardState(term: 2, vote: 0, commit: 6))
        #expect(s.firstIndex == 7 && s.lastIndex == 7)
        #expect(try s.term(at: 7) == 2)
    }

    @Test("a commit index not yet written is recovered at restart from the spool's applied index")
    func restartRecoversCommit() throws {
        let c = try ClusterHarness(nodes: 3)
        let leader = try #require(c.awaitLeader())
        let follower = c.names.first { $0 != leader }!
        let ids = (0..<20).map { "D\($0)" }
        #expect(RaftLogClusterTests.proposeAll(ids, on: c.running).values.allSatisfy { (try? $0.get()) != nil })
        #expect(c.wait(10) { RaftLogClusterTests.has(c.stores[follower]!, ids) })
        #expect(c.running.allSatisfy { $0.onLoop { !$0.storage.lastCommitSkippedSync } })
        c.stopNode(follower)
        let store = try SpoolStore(directory: "\(c.root)/\(follower)/spool", options: c.spoolOptions)
        let applied = try store.lastApplied().index
        do {
            // The follower learned the commit of its last entries after writing them: not on disk.
            let s = try RaftLogStorage(directory: "\(c.root)/\(follower)/raft", initialVoters: [])
            #expect(s.initialState().hardState.commit < applied)
            s.close()
        }
        do {
            let log = try RaftLog(options: c.options(follower), store: store)
            #expect(log.raft.commitIndex >= applied, "commit \(log.raft.commitIndex) applied \(applied)")
            #expect(log.raft.appliedIndex == applied)
            log.storage.close()
        }
        store.close()
        try c.startNode(follower)
        #expect(c.wait(10) { c.logs[follower]!.status().leader != nil })
        #expect(RaftLogClusterTests.has(c.stores[follower]!, ids))
        let more = ["D-after"]
        #expect(RaftLogClusterTests.proposeAll(more, on: [c.logs[follower]!]).values.allSatisfy { (try? $0.get()) != nil })
        #expect(c.wait(10) { RaftLogClusterTests.has(c.stores[follower]!, more) })
    }

    @Test("a sole voter never sends a learner a commit index beyond what is durable on its own disk")
    func soleVoterCommitDurable() throws {
        let c = try ClusterHarness(nodes: 1)
        #expect(c.awaitLeader() == "n1")
        let leader = c.logs["n1"]!
        leader.onLoop { $0.autoPromoteLearners = false }
        let o = c.joinerOptions("n2")
        let store = try SpoolStore(directory: "\(c.root)/n2/spool", options: SpoolStore.Options(mapSize: 1 << 30))
        defer { store.close() }
        let learner = try RaftLog(options: o, store: store)
        defer { learner.stop(transferLeadership: false) }
        let address = try learner.start()
        let added = RaftLogMembershipTests.change { leader.addNode("n2", address: address, completion: $0) }
        #expect((try? added?.get()) != nil, "\(String(describing: added))")
        #expect(c.wait(10) { leader.status().peers.first { $0.id == "n2" }?.match == leader.status().lastIndex })

        // (commit sent, durable last index) of every append or heartbeat to the learner.
        let seen = Mutex<[(UInt64, UInt64, Int)]>([])
        let rid = NodeIDMap.raftID("n2")
        leader.onLoop { l in
            l.sendObserver = { m, durable in
                guard m.to == rid, m.kind == .appendEntries || m.kind == .heartbeat else { return }
                seen.withLock { $0.append((m.commit, durable, m.entries.count)) }
            }
        }
        let ids = (0..<20).map { "V\($0)" }
        #expect(RaftLogClusterTests.proposeAll(ids, on: [leader]).values.allSatisfy { (try? $0.get()) != nil })
        #expect(c.wait(10) { ids.allSatisfy { (try? store.message(id: $0)) != nil } })
        let all = seen.withLock { $0 }
        #expect(all.contains { $0.2 > 0 }, "no appends with entries observed")
        let early = all.filter { $0.0 > $0.1 }
        #expect(early.isEmpty, "commit beyond the durable index sent: \(early.prefix(5))")
        #expect(leader.status().learners == ["n2"])
    }

    @Test("with a spool opened without fsync the raft log is still compacted, and the node restarts with everything")
    func compactsWithoutSpoolFsync() throws {
        let lines = LogLines()
        let c = try ClusterHarness(nodes: 1, spool: SpoolStore.Options(mapSize: 1 << 30, durable: false), logLines: lines) { o in
            o.compactThreshold = 20
            o.retainedEntries = 5
        }
        #expect(c.awaitLeader() == "n1")
        let ids = (0..<60).map { "U\($0)" }
        #expect(RaftLogClusterTests.proposeAll(ids, on: c.running).values.allSatisfy { (try? $0.get()) != nil })
        #expect(c.wait(10) { c.logs["n1"]!.status().firstIndex > 20 }, "first index \(c.logs["n1"]!.status().firstIndex)")
        // Each compaction came after an fsync of the spool's data file.
        let compactions = lines.lines.withLock { $0 }.filter { $0.contains("raft log compacted") }
        #expect(!compactions.isEmpty && compactions.allSatisfy { $0.contains("spoolFlushed=true") }, "\(compactions)")
        c.stopNode("n1")
        try c.startNode("n1")
        #expect(c.awaitLeader() == "n1")
        #expect(RaftLogClusterTests.has(c.stores["n1"]!, ids))
        #expect(RaftLogClusterTests.proposeAll(["U-after"], on: c.running).values.allSatisfy { (try? $0.get()) != nil })
    }
}
