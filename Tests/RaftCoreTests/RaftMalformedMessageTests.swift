import Testing
@testable import RaftCore

/// Messages an authenticated but buggy or malicious peer could send. Each must be dropped (counted,
/// with a reason) without trapping, and leave the node's state as it was and the cluster working.
@Suite("Raft malformed peer messages")
struct RaftMalformedMessageTests {
    /// Where the test cluster stands when a malformed message arrives: node 1 leads `term`, node 2
    /// follows, the log ends at `last`.
    struct Scene: Sendable {
        let term: UInt64
        let last: UInt64
    }

    /// One malformed message, aimed at the leader (1) or a follower (2).
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let target: UInt64
        let reason: String
        let build: @Sendable (Scene) -> Raft.Message
        var testDescription: String { name }
    }

    static let max = UInt64.max

    static let cases: [Case] = [
        // Append responses to the leader.
        Case(name: "append response acknowledging UInt64.max", target: 1, reason: "index") { s in
            Raft.Message(kind: .appendResponse, from: 2, to: 1, term: s.term, index: max)
        },
        Case(name: "append response acknowledging past the leader's last index", target: 1, reason: "beyond the leader's last index") { s in
            Raft.Message(kind: .appendResponse, from: 2, to: 1, term: s.term, index: s.last + 1000)
        },
        Case(name: "rejection with reject hint UInt64.max", target: 1, reason: "rejectHint") { s in
            Raft.Message(kind: .appendResponse, from: 2, to: 1, term: s.term, index: s.last, reject: true, rejectHint: max)
        },
        Case(name: "rejection with a hint past the rejected index", target: 1, reason: "reject hint") { s in
            Raft.Message(kind: .appendResponse, from: 2, to: 1, term: s.term, index: 1, reject: true, rejectHint: s.last + 7)
        },
        Case(name: "rejection with a conflict term UInt64.max", target: 1, reason: "logTerm") { s in
            Raft.Message(kind: .appendResponse, from: 2, to: 1, term: s.term, logTerm: max, index: s.last, reject: true, rejectHint: s.last)
        },
        Case(name: "heartbeat response with a 10 KB context", target: 1, reason: "context") { s in
            Raft.Message(kind: .heartbeatResponse, from: 2, to: 1, term: s.term, context: [UInt8](repeating: 7, count: 10_000))
        },
        Case(name: "vote response in term UInt64.max", target: 1, reason: "term") { _ in
            Raft.Message(kind: .voteResponse, from: 2, to: 1, term: max)
        },
        Case(name: "vote request in term UInt64.max", target: 2, reason: "term") { _ in
            Raft.Message(kind: .requestVote, from: 3, to: 2, term: max, logTerm: 1, index: 1, isTransfer: true)
        },
        Case(name: "pre-vote request for a last index UInt64.max", target: 2, reason: "index") { s in
            Raft.Message(kind: .requestPreVote, from: 3, to: 2, term: s.term + 1, logTerm: s.term, index: max)
        },
        Case(name: "message from node id 0", target: 2, reason: "sender id 0") { s in
            Raft.Message(kind: .heartbeat, from: 0, to: 2, term: s.term)
        },
        Case(name: "message claiming to come from its recipient", target: 1, reason: "is the recipient") { s in
            Raft.Message(kind: .appendResponse, from: 1, to: 1, term: s.term, index: s.last)
        },
        // Appends to a follower.
        Case(name: "entries numbered below the previous index (conflicting with committed entries)", target: 2,
             reason: "expected") { s in
            Raft.Message(kind: .appendEntries, from: 1, to: 2, term: s.term, logTerm: s.term, index: s.last,
                         entries: [Raft.Entry(term: s.term, index: 1, data: [1])], commit: s.last)
        },
        Case(name: "entries with a gap", target: 2, reason: "expected") { s in
            Raft.Message(kind: .appendEntries, from: 1, to: 2, term: s.term, logTerm: s.term, index: s.last,
                         entries: [Raft.Entry(term: s.term, index: s.last + 1), Raft.Entry(term: s.term, index: s.last + 3)])
        },
        Case(name: "entries out of order", target: 2, reason: "expected") { s in
            Raft.Message(kind: .appendEntries, from: 1, to: 2, term: s.term, logTerm: s.term, index: s.last,
                         entries: [Raft.Entry(term: s.term, index: s.last + 2), Raft.Entry(term: s.term, index: s.last + 1)])
        },
        Case(name: "an entry far past the previous index", target: 2, reason: "expected") { s in
            Raft.Message(kind: .appendEntries, from: 1, to: 2, term: s.term, logTerm: s.term, index: s.last,
                         entries: [Raft.Entry(term: s.term, index: s.last + 10)])
        },
        Case(name: "entries whose terms decrease", target: 2, reason: "below the term") { s in
            Raft.Message(kind: .appendEntries, from: 1, to: 2, term: s.term + 1, logTerm: s.term, index: s.last,
                         entries: [Raft.Entry(term: s.term + 1, index: s.last + 1), Raft.Entry(term: s.term, index: s.last + 2)])
        },
        Case(name: "an entry of a term above the message's", target: 2, reason: "above the message term") { s in
            Raft.Message(kind: .appendEntries, from: 1, to: 2, term: s.term, logTerm: s.term, index: s.last,
                         entries: [Raft.Entry(term: s.term + 5, index: s.last + 1)])
        },
        Case(name: "entries running past the index limit", target: 2, reason: "limit") { s in
            Raft.Message(kind: .appendEntries, from: 1, to: 2, term: s.term, logTerm: s.term, index: Raft.Message.maxTermOrIndex,
                         entries: [Raft.Entry(term: s.term, index: Raft.Message.maxTermOrIndex &+ 1)])
        },
        Case(name: "append with commit UInt64.max", target: 2, reason: "commit") { s in
            Raft.Message(kind: .appendEntries, from: 1, to: 2, term: s.term, logTerm: s.term, index: s.last, commit: max)
        },
        Case(name: "heartbeat in term UInt64.max (the next election would overflow the term)", target: 2, reason: "term") { _ in
            Raft.Message(kind: .heartbeat, from: 1, to: 2, term: max)
        },
        Case(name: "heartbeat carrying entries", target: 2, reason: "carries 1 entries") { s in
            Raft.Message(kind: .heartbeat, from: 1, to: 2, term: s.term, entries: [Raft.Entry(term: s.term, index: s.last + 1)])
        },
        // Snapshots, transfers, reads.
        Case(name: "snapshot at index UInt64.max", target: 2, reason: "snapshot index") { s in
            Raft.Message(kind: .installSnapshot, from: 1, to: 2, term: s.term,
                         snapshot: Raft.Snapshot(index: max, term: s.term, confState: Raft.ConfState(voters: [1, 2, 3])))
        },
        Case(name: "snapshot of a term above the message's", target: 2, reason: "snapshot term") { s in
            Raft.Message(kind: .installSnapshot, from: 1, to: 2, term: s.term,
                         snapshot: Raft.Snapshot(index: s.last + 5, term: s.term + 1, confState: Raft.ConfState(voters: [1, 2, 3])))
        },
        Case(name: "snapshot whose membership has no voters", target: 2, reason: "no voters") { s in
            Raft.Message(kind: .installSnapshot, from: 1, to: 2, term: s.term,
                         snapshot: Raft.Snapshot(index: s.last + 5, term: s.term, confState: Raft.ConfState(voters: [], learners: [2])))
        },
        Case(name: "snapshot whose membership lists node 0 and a node twice", target: 2, reason: "membership") { s in
            Raft.Message(kind: .installSnapshot, from: 1, to: 2, term: s.term,
                         snapshot: Raft.Snapshot(index: s.last + 5, term: s.term, confState: Raft.ConfState(voters: [1, 2, 2, 0])))
        },
        Case(name: "installSnapshot without a snapshot", target: 2, reason: "without a snapshot") { s in
            Raft.Message(kind: .installSnapshot, from: 1, to: 2, term: s.term)
        },
        Case(name: "append carrying a snapshot", target: 2, reason: "carries a snapshot") { s in
            Raft.Message(kind: .appendEntries, from: 1, to: 2, term: s.term, logTerm: s.term, index: s.last,
                         snapshot: Raft.Snapshot(index: s.last, term: s.term, confState: Raft.ConfState(voters: [1, 2, 3])))
        },
        Case(name: "timeout-now in term UInt64.max", target: 2, reason: "term") { _ in
            Raft.Message(kind: .timeoutNow, from: 1, to: 2, term: max)
        },
        Case(name: "read-index response for index UInt64.max", target: 2, reason: "index") { s in
            Raft.Message(kind: .readIndexResponse, from: 1, to: 2, term: s.term, index: max, context: [1])
        },
    ]

    /// A three-node cluster with node 1 leading and a few committed entries everywhere.
    static func settledCluster() throws -> (TestCluster, Scene) {
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        try #require(c.nodes[1]!.role == .leader)
        for i in 0..<3 { try c.nodes[1]!.propose([UInt8(i)]) }
        c.stabilize()
        let leader = c.nodes[1]!
        try #require(c.nodes.values.allSatisfy { $0.commitIndex == leader.lastIndex })
        return (c, Scene(term: leader.term, last: leader.lastIndex))
    }

    struct Snapshot: Equatable {
        let term: UInt64, vote: UInt64, role: Raft.Role, leader: UInt64, commit: UInt64, last: UInt64, first: UInt64
        init(_ r: Raft) {
            (term, vote, role, leader) = (r.term, r.vote, r.role, r.leader)
            (commit, last, first) = (r.commitIndex, r.lastIndex, r.firstIndex)
        }
    }

    @Test("a malformed message is dropped with a counted reason, leaves the node's state unchanged, and the cluster keeps committing",
          arguments: cases)
    func dropped(_ bad: Case) throws {
        let (c, scene) = try Self.settledCluster()
        let node = c.nodes[bad.target]!
        let before = Snapshot(node)
        let progressBefore = c.nodes[1]!.progress.mapValues { [$0.match, $0.next] }
        node.step(bad.build(scene))
        #expect(node.malformedDropped == 1)
        let reason = try #require(node.lastMalformation)
        #expect(reason.contains(bad.reason), "reason: \(reason)")
        #expect(Snapshot(node) == before)
        #expect(c.nodes[1]!.progress.mapValues { [$0.match, $0.next] } == progressBefore)
        #expect(!node.hasReady, "a dropped message must not be answered or change anything to persist")
        // The cluster still replicates and commits.
        try c.nodes[1]!.propose([42])
        c.stabilize()
        for n in c.nodes.values {
            #expect(n.commitIndex == scene.last + 1 && n.lastIndex == scene.last + 1, "node \(n.id)")
            #expect(n.commitIndex <= n.lastIndex && n.appliedIndex <= n.commitIndex)
        }
    }

    @Test("well-formed messages of every kind pass the check (the check refuses only what no correct peer sends)")
    func correctTrafficPasses() throws {
        let (c, scene) = try Self.settledCluster()
        // Everything exchanged while electing, replicating, snapshotting and transferring passes.
        for m in c.delivered { #expect(m.malformation == nil, "\(m.kind): \(m.malformation ?? "")") }
        try c.nodes[1]!.transferLeader(to: 2)
        c.stabilize()
        #expect(c.nodes[2]!.role == .leader)
        try c.nodes[2]!.readIndex(context: [9])
        c.stabilize()
        for m in c.delivered { #expect(m.malformation == nil, "\(m.kind): \(m.malformation ?? "")") }
        #expect(c.delivered.contains { $0.kind == .timeoutNow })
        #expect(c.nodes.values.allSatisfy { $0.malformedDropped == 0 })
        let snap = Raft.Message(kind: .installSnapshot, from: 1, to: 2, term: scene.term,
                                snapshot: Raft.Snapshot(index: scene.last, term: scene.term, confState: Raft.ConfState(voters: [1, 2, 3])))
        #expect(snap.malformation == nil)
    }
}

@Suite("Raft wire format version")
struct RaftWireVersionTests {
    @Test("a message in a newer wire version is refused with an error naming both versions")
    func newerWireVersionRefused() {
        var bytes = Raft.Message(kind: .heartbeat, from: 1, to: 2, term: 3).encode()
        bytes[0] = Raft.Message.wireVersion + 1
        do {
            _ = try Raft.Message.decode(bytes)
            Issue.record("a newer wire version was decoded")
        } catch {
            #expect(error.code == .decodeFailed)
            #expect(error.reason.contains("wire version \(Raft.Message.wireVersion + 1) is newer than this build's version \(Raft.Message.wireVersion)"),
                    "\(error.reason)")
        }
    }
}
