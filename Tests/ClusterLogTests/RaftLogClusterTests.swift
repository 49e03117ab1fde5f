@testable import ClusterLog
import Foundation
import SpoolStore
import Testing

@Suite("Replicated log: in-process 3-node clusters")
struct RaftLogClusterTests {
    /// Proposes `ids` round-robin over `logs` and waits for every completion (committed or failed)
    /// or `timeout` seconds: a hang guard beyond the harness's 30 s proposal timeout.
    static func proposeAll(_ ids: [String], on logs: [RaftLog], timeout: Double = 60) -> [String: Result<UInt64, StoreError>] {
        let results = Results()
        for (i, id) in ids.enumerated() {
            logs[i % logs.count].propose(ClusterHarness.enqueue(id)) { results.set(i, $0) }
        }
        let end = Date().addingTimeInterval(timeout)
        while results.count < ids.count && Date() < end { usleep(5_000) }
        var out: [String: Result<UInt64, StoreError>] = [:]
        for (i, r) in results.all { out[ids[i]] = r }
        return out
    }

    static func has(_ store: SpoolStore, _ ids: [String]) -> Bool {
        ids.allSatisfy { (try? store.message(id: $0)) != nil }
    }

    @Test("proposals on any node commit once and are applied on every node")
    func replicates() throws {
        let c = try ClusterHarness(nodes: 3)
        #expect(c.awaitLeader() != nil)
        let ids = (0..<60).map { "R\($0)" }
        let results = Self.proposeAll(ids, on: c.running)
        #expect(results.count == ids.count)
        let indexes = results.values.compactMap { try? $0.get() }
        #expect(indexes.count == ids.count, "failures: \(results.values.filter { (try? $0.get()) == nil })")
        #expect(Set(indexes).count == indexes.count)
        #expect(c.wait(10) { c.names.allSatisfy { Self.has(c.stores[$0]!, ids) } })
        let applied = c.running.map { $0.status().applied }
        #expect(c.wait(5) { Set(c.running.map { $0.status().applied }).count == 1 }, "\(applied)")
        // A duplicate queue ID is rejected by the state machine, on a follower too.
        let follower = c.running.first { !$0.isLeader }!
        let dup = Self.proposeAll(["R0"], on: [follower])
        #expect(throws: StoreError.self) { try dup["R0"]!.get() }
    }

    @Test("killing the leader elects a new one, proposals continue and nothing acknowledged is lost")
    func leaderKill() throws {
        let c = try ClusterHarness(nodes: 3)
        let first = try #require(c.awaitLeader())
        let before = (0..<30).map { "K\($0)" }
        let r1 = Self.proposeAll(before, on: c.running)
        let acked1 = before.filter { (try? r1[$0]?.get()) != nil }
        #expect(acked1.count == before.count)
        let killedAt = Date()
        c.stopNode(first, transfer: false)
        let second = try #require(c.awaitLeader())
        #expect(second != first)
        let after = (0..<30).map { "L\($0)" }
        let r2 = Self.proposeAll(after, on: c.running)
        let firstCommit = Date().timeIntervalSince(killedAt)
        let acked2 = after.filter { (try? r2[$0]?.get()) != nil }
        #expect(acked2.count == after.count)
        print("leader kill → proposals committed again after \(String(format: "%.2f", firstCommit)) s")
        for n in c.names where c.stores[n] != nil {
            #expect(c.wait(10) { Self.has(c.stores[n]!, acked1 + acked2) }, "node \(n)")
        }
        // The old leader comes back from disk and catches up with what it missed.
        try c.startNode(first)
        #expect(c.wait(15) { Self.has(c.stores[first]!, acked1 + acked2) })
    }

    @Test("a follower restarted from disk catches up, and the log is compacted only behind every member")
    func restartCatchUp() throws {
        let c = try ClusterHarness(nodes: 3) { o in
            o.compactThreshold = 40
            o.retainedEntries = 5
        }
        let leader = try #require(c.awaitLeader())
        let follower = c.names.first { $0 != leader }!
        let early = (0..<20).map { "E\($0)" }
        #expect(Self.proposeAll(early, on: c.running).values.allSatisfy { (try? $0.get()) != nil })
        #expect(c.wait(10) { Self.has(c.stores[follower]!, early) })
        c.stopNode(follower)
        let late = (0..<120).map { "F\($0)" }
        let r = Self.proposeAll(late, on: c.running)
        #expect(r.values.allSatisfy { (try? $0.get()) != nil })
        // The stopped follower has not replicated these: the leader must keep them.
        let st = c.logs[leader]!.status()
        let followerMatch = st.peers.first { $0.id == follower }!.match
        #expect(st.firstIndex <= followerMatch + 1, "first \(st.firstIndex) match \(followerMatch)")
        try c.startNode(follower)
        #expect(c.wait(15) { Self.has(c.stores[follower]!, early + late) })
        // With everyone caught up, later traffic lets every node compact.
        let more = (0..<60).map { "G\($0)" }
        #expect(Self.proposeAll(more, on: c.running).values.allSatisfy { (try? $0.get()) != nil })
        #expect(c.wait(10) {
            _ = Self.proposeAll(["H\(UUID().uuidString.prefix(8))"], on: [c.logs[leader] ?? c.running[0]])
            return c.running.allSatisfy { $0.status().firstIndex > 20 }
        }, "\(c.running.map { $0.status().firstIndex })")
        #expect(c.running.allSatisfy { $0.status().peers.allSatisfy { !$0.needsSnapshot } })
    }

    @Test("without a quorum a proposal fails within the deadline and is not applied")
    func noQuorum() throws {
        let c = try ClusterHarness(nodes: 3) { o in o.proposalTimeout = 1.5 }
        let leader = try #require(c.awaitLeader())
        let others = c.names.filter { $0 != leader }
        c.stopNode(others[0])
        c.stopNode(others[1])
        let start = Date()
        let r = Self.proposeAll(["Q1"], on: [c.logs[leader]!], timeout: 10)
        let elapsed = Date().timeIntervalSince(start)
        #expect(throws: StoreError.self) { try r["Q1"]!.get() }
        #expect(elapsed < 1.5 + 5, "took \(elapsed) s") // deadline 1.5 s; never the 10 s poll limit
        #expect(c.wait(10) { !c.logs[leader]!.hasQuorum }) // check-quorum window: 3 s
        #expect(try c.stores[leader]!.message(id: "Q1") == nil)
    }

    @Test("graceful stop of the leader hands leadership over before exiting")
    func transfer() throws {
        let c = try ClusterHarness(nodes: 3)
        let leader = try #require(c.awaitLeader())
        let ids = (0..<10).map { "T\($0)" }
        #expect(Self.proposeAll(ids, on: c.running).values.allSatisfy { (try? $0.get()) != nil })
        let stoppedAt = Date()
        c.stopNode(leader, transfer: true)
        let next = try #require(c.awaitLeader(10))
        #expect(next != leader)
        print("graceful transfer: new leader after \(String(format: "%.2f", Date().timeIntervalSince(stoppedAt))) s")
        #expect(Self.proposeAll(["T-after"], on: c.running).values.allSatisfy { (try? $0.get()) != nil })
    }

    @Test("a stopped log refuses proposals with .closed")
    func stoppedRefuses() throws {
        let c = try ClusterHarness(nodes: 1)
        let log = try #require(c.logs["n1"])
        #expect(c.awaitLeader() == "n1")
        log.stop()
        let r = Self.proposeAll(["S1"], on: [log])
        #expect(throws: StoreError.self) { try r["S1"]!.get() }
        if case .failure(let e)? = r["S1"] { #expect(e.code == .closed) }
    }
}

@Suite("Replicated log: a member behind the compacted log")
struct RaftLogCompactedTests {
    @Test("a member silent longer than compactionHoldSeconds stops holding back compaction, and on its return catches up from a snapshot")
    func silentMemberReleasesLog() throws {
        let c = try ClusterHarness.lowCompaction()
        let (_, follower, ids) = try c.compactPastStoppedFollower()
        // Back, it is behind the log: it receives a snapshot, installs it on restart, and has everything.
        try c.startNode(follower)
        #expect(c.wait(15) { c.logs[follower]!.status().snapshotPending })
        c.stopNode(follower)
        #expect(try RaftLog.installPendingSnapshot(raftDirectory: "\(c.root)/\(follower)/raft",
                                                   spoolDirectory: "\(c.root)/\(follower)/spool"))
        try c.startNode(follower)
        #expect(c.wait(15) { RaftLogClusterTests.has(c.stores[follower]!, ids) })
        let after = ["A1", "A2"]
        #expect(RaftLogClusterTests.proposeAll(after, on: c.running).values.allSatisfy { (try? $0.get()) != nil })
        #expect(c.wait(10) { RaftLogClusterTests.has(c.stores[follower]!, after) })
    }

    @Test("a node added after compaction receives a streamed spool snapshot, installs it on restart and catches up")
    func addedAfterCompaction() throws {
        let c = try ClusterHarness(nodes: 3) { o in
            o.compactThreshold = 30
            o.retainedEntries = 5
        }
        let leader = try #require(c.awaitLeader())
        let ids = (0..<80).map { "W\($0)" }
        #expect(RaftLogClusterTests.proposeAll(ids, on: c.running).values.allSatisfy { (try? $0.get()) != nil })
        #expect(c.wait(10) {
            _ = RaftLogClusterTests.proposeAll(["V-\(UUID().uuidString.prefix(6))"], on: [c.logs[leader]!])
            return c.running.allSatisfy { $0.status().firstIndex > 10 }
        })
        // The snapshot arrives while the node runs; nothing of it is applied before the restart.
        let (n4, store) = try c.joinFromSnapshot("n4", leader: leader)
        defer { store.close() }
        defer { n4.stop(transferLeadership: false) }
        #expect(ids.allSatisfy { (try? store.message(id: $0)) != nil }, "snapshot content")
        let more = (0..<20).map { "X\($0)" }
        #expect(RaftLogClusterTests.proposeAll(more, on: c.running).values.allSatisfy { (try? $0.get()) != nil })
        #expect(c.wait(10) { more.allSatisfy { (try? store.message(id: $0)) != nil } })
        #expect(c.wait(10) { c.logs[leader]!.status().voters.contains("n4") })
    }
}
