import Testing
import RaftCore
@testable import ClusterLog

/// A `.raft` frame from an authenticated peer is decoded and checked before it reaches Raft.
@Suite("Raft frame validation")
struct RaftFrameValidationTests {
    static let me: UInt64 = 11
    static let peer: UInt64 = 22

    func check(_ m: Raft.Message, peerID: UInt64? = peer) -> Result<Raft.Message, ClusterError> {
        RaftLog.checkRaftFrame(m.encode(), peerID: peerID, me: Self.me)
    }

    func refusal(_ r: Result<Raft.Message, ClusterError>) -> String? {
        if case .failure(let e) = r { return e.reason }
        return nil
    }

    @Test("a well-formed append from the connected peer passes unchanged")
    func wellFormed() throws {
        let m = Raft.Message(kind: .appendEntries, from: Self.peer, to: Self.me, term: 3, logTerm: 2, index: 5,
                             entries: [Raft.Entry(term: 2, index: 6, data: [1]), Raft.Entry(term: 3, index: 7, data: [2])],
                             commit: 6)
        #expect(try check(m).get() == m)
    }

    @Test("undecodable bytes, another recipient and a spoofed sender are refused with a reason")
    func addressing() {
        let ok = Raft.Message(kind: .heartbeat, from: Self.peer, to: Self.me, term: 3)
        #expect(refusal(RaftLog.checkRaftFrame([1, 6, 0xff], peerID: Self.peer, me: Self.me))?.contains("undecodable") == true)
        var other = ok
        other.to = 99
        #expect(refusal(check(other))?.contains("not this node") == true)
        var spoofed = ok
        spoofed.from = 33
        #expect(refusal(check(spoofed))?.contains("claims sender 33") == true)
        #expect(refusal(check(ok, peerID: nil))?.contains("claims sender") == true)
    }

    @Test("messages that would trap Raft (overflowing indexes, non-consecutive entries, a snapshot at UInt64.max) are refused at decode")
    func malformed() {
        let cases: [(Raft.Message, String)] = [
            (Raft.Message(kind: .appendResponse, from: Self.peer, to: Self.me, term: 3, index: .max), "index"),
            (Raft.Message(kind: .appendResponse, from: Self.peer, to: Self.me, term: 3, index: 4, reject: true, rejectHint: .max),
             "rejectHint"),
            (Raft.Message(kind: .appendEntries, from: Self.peer, to: Self.me, term: 3, logTerm: 3, index: 5,
                          entries: [Raft.Entry(term: 3, index: 7), Raft.Entry(term: 3, index: 6)]), "expected 6"),
            (Raft.Message(kind: .installSnapshot, from: Self.peer, to: Self.me, term: 3,
                          snapshot: Raft.Snapshot(index: .max, term: 3, confState: Raft.ConfState(voters: [Self.me]))), "snapshot index"),
        ]
        for (m, reason) in cases {
            let why = refusal(check(m))
            #expect(why?.hasPrefix("malformed \(m.kind) message") == true && why?.contains(reason) == true, "\(why ?? "passed")")
        }
    }
}
