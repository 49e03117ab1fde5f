import Testing
@testable import RaftCore

@Suite("Raft replication")
struct RaftReplicationTests {
    @Test("§5.4.2 (figure 8): a leader does not commit an old-term entry by counting replicas, only with a current-term entry")
    func figure8() {
        let c = TestCluster(voters: [1, 2, 3, 4, 5], checkQuorum: false)
        // Entry 2 of term 2 is on nodes 1 and 2 only; node 1 is at term 3 as leader after an election.
        c.preload(1, terms: [1, 2], term: 2, commit: 1)
        c.preload(2, terms: [1, 2], term: 2, commit: 1)
        for id: UInt64 in [3, 4, 5] { c.preload(id, terms: [1], term: 2, commit: 1) }
        // Elect 1 with the votes of 2 and 3, then cut replication so we control the acknowledgements.
        c.dropFilter = { $0.kind == .appendEntries || $0.kind == .heartbeat }
        c.campaign(1)
        let leader = c.nodes[1]!
        #expect(leader.role == .leader && leader.term == 3)
        #expect(leader.lastIndex == 3)   // the term-3 no-op
        // Node 3 acknowledges index 2 (it got entry 2 of term 2): 1, 2, 3 form a majority at index 2.
        leader.step(Raft.Message(kind: .appendResponse, from: 2, to: 1, term: 3, index: 2))
        leader.step(Raft.Message(kind: .appendResponse, from: 3, to: 1, term: 3, index: 2))
        #expect(leader.progress[3]!.match == 2)
        #expect(leader.commitIndex == 1)   // not committed: term 2 != current term 3
        // Once the term-3 entry is on a majority, everything up to it commits.
        leader.step(Raft.Message(kind: .appendResponse, from: 2, to: 1, term: 3, index: 3))
        #expect(leader.commitIndex == 1)   // index 3 is on 2 of 5 only; index 2 is still not current-term
        leader.step(Raft.Message(kind: .appendResponse, from: 3, to: 1, term: 3, index: 3))
        #expect(leader.commitIndex == 3)
    }

    @Test("fast back-off: a follower with 50 conflicting entries is repaired in a few round trips")
    func conflictBackoff() throws {
        let c = TestCluster(voters: [1, 2, 3], checkQuorum: false)
        let base: [UInt64] = Array(repeating: 1, count: 5)
        c.preload(1, terms: base + Array(repeating: 3, count: 40), term: 3, commit: 5)
        c.preload(3, terms: base + Array(repeating: 3, count: 40), term: 3, commit: 5)
        c.preload(2, terms: base + Array(repeating: 2, count: 50), term: 3, commit: 5)
        c.campaign(1)
        #expect(c.nodes[1]!.role == .leader)
        let rejects = c.delivered.filter { $0.kind == .appendResponse && $0.reject && $0.from == 2 }.count
        #expect(rejects >= 1 && rejects <= 2)
        for i in UInt64(1)...c.nodes[1]!.lastIndex {
            #expect(c.storages[2]!.lastIndex >= i)
            #expect(try c.storages[2]!.term(at: i) == c.storages[1]!.term(at: i))
        }
        #expect(c.storages[2]!.lastIndex == c.nodes[1]!.lastIndex)
    }

    @Test("pipelining: a silent follower receives at most maxInflight appends, then flow resumes on acks")
    func inflightWindow() throws {
        let c = TestCluster(voters: [1, 2, 3]) { $0.maxInflightMessages = 4 }
        c.campaign(1)
        let leader = c.nodes[1]!
        c.queue.removeAll()
        // Node 2 answers nothing; node 3 acknowledges normally.
        c.dropFilter = { $0.from == 2 }
        for i in 0..<20 { try leader.propose([UInt8(i)]) }
        c.process(1)
        let toTwo = c.queue.filter { $0.kind == .appendEntries && $0.to == 2 }
        #expect(toTwo.count == 4)
        c.stabilize()
        #expect(leader.progress[2]!.match < leader.lastIndex)
        c.dropFilter = nil
        c.tickAll(3)
        #expect(leader.progress[2]!.match == leader.lastIndex)
        #expect(c.appliedData(2).count == 20)
    }

    @Test("appends are byte-bounded by maxSizePerMsg (but always carry at least one entry)")
    func byteBound() throws {
        let c = TestCluster(voters: [1, 2]) { $0.maxSizePerMsg = 300 }
        c.campaign(1)
        c.block(1, 2)
        for _ in 0..<10 { try c.nodes[1]!.propose([UInt8](repeating: 7, count: 100)) }
        c.stabilize()
        c.heal()
        c.delivered.removeAll()
        c.tickAll(2)
        let appends = c.delivered.filter { $0.kind == .appendEntries && !$0.entries.isEmpty }
        #expect(!appends.isEmpty)
        #expect(appends.allSatisfy { $0.entries.count <= 2 })
        #expect(c.appliedData(2).count == 10)
        try c.nodes[1]!.propose([UInt8](repeating: 1, count: 1000))
        c.stabilize()
        #expect(c.appliedData(2).count == 11)
    }

    @Test("a follower behind the compacted log catches up through InstallSnapshot")
    func snapshotCatchUp() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        c.isolate(3)
        for i in 0..<30 { try c.nodes[1]!.propose([UInt8(i)]) }
        c.stabilize()
        let leader = c.nodes[1]!
        let st = c.storages[1]!
        try st.createSnapshot(index: leader.appliedIndex, confState: leader.confState, data: [0xAB, 0xCD])
        st.compact(to: leader.appliedIndex)
        #expect(leader.firstIndex == leader.appliedIndex + 1)
        c.heal()
        c.tickAll(12)
        #expect(c.delivered.contains { $0.kind == .installSnapshot && $0.to == 3 })
        let s3 = try c.storages[3]!.snapshot()
        #expect(s3.index == leader.appliedIndex && s3.data == [0xAB, 0xCD])
        #expect(leader.progress[3]!.state == .replicate)
        try leader.propose([99])
        c.stabilize()
        #expect(c.appliedData(3) == [[99]])
        #expect(c.nodes[3]!.commitIndex == leader.commitIndex)
    }

    @Test("a lost snapshot is resent after the snapshot timeout")
    func lostSnapshotResent() throws {
        let c = TestCluster(voters: [1, 2, 3]) { $0.snapshotTimeoutTicks = 5 }
        c.campaign(1)
        c.isolate(3)
        for i in 0..<5 { try c.nodes[1]!.propose([UInt8(i)]) }
        c.stabilize()
        let leader = c.nodes[1]!
        try c.storages[1]!.createSnapshot(index: leader.appliedIndex, confState: leader.confState, data: [1])
        c.storages[1]!.compact(to: leader.appliedIndex)
        c.heal()
        var dropped = 0
        c.dropFilter = { m in
            if m.kind == .installSnapshot && dropped == 0 { dropped += 1; return true }
            return false
        }
        c.tickAll(20)
        #expect(dropped == 1)
        #expect(c.nodes[3]!.commitIndex == leader.commitIndex)
        #expect(leader.progress[3]!.state == .replicate)
    }

    @Test("a batch proposal becomes consecutive entries sent in one append per follower")
    func batchProposal() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        c.queue.removeAll()
        let leader = c.nodes[1]!
        let (first, term) = try leader.propose(batch: [[1], [2], [3]])
        #expect(first == leader.lastIndex - 2 && term == leader.term)
        c.process(1)
        let appends = c.queue.filter { $0.kind == .appendEntries }
        #expect(appends.count == 2)
        #expect(appends.allSatisfy { $0.entries.map(\.data) == [[1], [2], [3]] })
        c.stabilize()
        #expect(c.appliedData(2) == [[1], [2], [3]])
        #expect(c.applied[3]!.last!.index == first + 2)
    }

    @Test("reportUnreachable drops a pipelining follower back to probing; reportSnapshot resumes after a stream")
    func transportReports() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        try c.nodes[1]!.propose([1])
        c.stabilize()
        let leader = c.nodes[1]!
        #expect(leader.progress[2]!.state == .replicate)
        leader.reportUnreachable(2)
        #expect(leader.progress[2]!.state == .probe)
        // Snapshot path: compact, isolate 3 so it needs a snapshot, let the transport report it.
        c.isolate(3)
        for i in 0..<5 { try leader.propose([UInt8(i)]) }
        c.stabilize()
        try c.storages[1]!.createSnapshot(index: leader.appliedIndex, confState: leader.confState, data: [5])
        c.storages[1]!.compact(to: leader.appliedIndex)
        c.heal()
        c.dropFilter = { $0.kind == .installSnapshot }
        c.tickAll(3)
        #expect(leader.progress[3]!.state == .snapshot)
        leader.reportSnapshot(to: 3, success: false)
        #expect(leader.progress[3]!.state == .probe)
        c.dropFilter = nil
        c.tickAll(3)
        #expect(leader.progress[3]!.state == .replicate)
        #expect(c.nodes[3]!.commitIndex == leader.commitIndex)
    }

    @Test("a restart with Config.applied skips entries the application already applied")
    func configApplied() throws {
        let c = TestCluster(voters: [1])
        c.campaign(1)
        for i in 0..<5 { try c.nodes[1]!.propose([UInt8(i)]) }
        c.stabilize()
        c.restart(1) { $0.applied = 4 }
        let rd = c.nodes[1]!.ready()
        #expect(rd.committedEntries.map(\.index) == [5, 6])
    }

    @Test("committed entries beyond the per-Ready budget come in later Readies, in order")
    func committedBudget() throws {
        let c = TestCluster(voters: [1]) { $0.maxCommittedSizePerReady = 60 }
        c.campaign(1)
        for i in 0..<6 { try c.nodes[1]!.propose([UInt8(i)]) }
        let r = c.nodes[1]!
        var batches: [[UInt64]] = []
        while r.hasReady {
            let rd = r.ready()
            c.storages[1]!.append(rd.entries)
            if let hs = rd.hardState { c.storages[1]!.setHardState(hs) }
            if !rd.committedEntries.isEmpty { batches.append(rd.committedEntries.map(\.index)) }
            r.advance(rd)
        }
        #expect(batches.count >= 3)
        #expect(batches.flatMap { $0 } == Array(UInt64(2)...7))
    }

    @Test("stale and duplicated append responses do not move a follower's progress backwards")
    func staleResponses() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        try c.nodes[1]!.propose([1])
        c.stabilize()
        let leader = c.nodes[1]!
        let match = leader.progress[2]!.match
        leader.step(Raft.Message(kind: .appendResponse, from: 2, to: 1, term: leader.term, index: 1))
        leader.step(Raft.Message(kind: .appendResponse, from: 2, to: 1, term: leader.term, index: 0, reject: true))
        #expect(leader.progress[2]!.match == match)
        #expect(leader.progress[2]!.next == match + 1)
    }
}
