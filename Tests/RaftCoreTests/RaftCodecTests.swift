import Testing
@testable import RaftCore
import SendarixSupport

@Suite("Raft wire codec")
struct RaftCodecTests {
    @Test("every message kind round-trips with entries, flags and snapshot intact")
    func roundTrip() throws {
        let entries = [Raft.Entry(term: 7, index: 100, data: [1, 2, 3]),
                       Raft.Entry(term: 7, index: 101, kind: .confChange, data: Raft.ConfChange(.addLearner, nodeID: 4).encode()),
                       Raft.Entry(term: 8, index: 102, data: [])]
        let snap = Raft.Snapshot(index: 99, term: 6, confState: Raft.ConfState(voters: [1, 2, 3], learners: [4]),
                                 data: [UInt8](repeating: 0xEE, count: 5000))
        var kinds: [Raft.Message.Kind] = []
        for raw in UInt8(0)...9 { kinds.append(Raft.Message.Kind(rawValue: raw)!) }
        for kind in kinds {
            let m = Raft.Message(kind: kind, from: 1, to: UInt64.max, term: 1 << 40, logTerm: 3, index: 300,
                                 entries: kind == .appendEntries ? entries : [], commit: 55, reject: kind == .voteResponse,
                                 rejectHint: 12, isTransfer: kind == .requestVote,
                                 snapshot: kind == .installSnapshot ? snap : nil)
            #expect(try Raft.Message.decode(m.encode()) == m)
        }
    }

    @Test("truncated, trailing or unknown input is rejected with decodeFailed, never a crash")
    func malformed() {
        let m = Raft.Message(kind: .appendEntries, from: 1, to: 2, term: 3, entries: [Raft.Entry(term: 3, index: 1, data: [1, 2])])
        let bytes = m.encode()
        for cut in 0..<bytes.count {
            #expect(throws: Raft.Error.self) { try Raft.Message.decode(Array(bytes[0..<cut])) }
        }
        #expect(throws: Raft.Error.self) { try Raft.Message.decode(bytes + [0]) }
        var bad = bytes
        bad[1] = 200
        #expect(throws: Raft.Error.self) { try Raft.Message.decode(bad) }
        bad = bytes
        bad[0] = 9
        #expect(throws: Raft.Error.self) { try Raft.Message.decode(bad) }
        #expect(throws: Raft.Error.self) { try Raft.Message.decode([1, 0] + [UInt8](repeating: 0xFF, count: 12)) }
    }

    @Test("random and corrupted bytes never crash the decoder (seeded fuzz)")
    func fuzz() {
        var rng = SplitMix64(seed: 77)
        let valid = Raft.Message(kind: .installSnapshot, from: 3, to: 1, term: 9, entries: [],
                                 snapshot: Raft.Snapshot(index: 5, term: 2, confState: Raft.ConfState(voters: [1, 2, 3]), data: [1, 2, 3])).encode()
        var decoded = 0
        for i in 0..<5000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                if !bytes.isEmpty { bytes[0] = Raft.Message.wireVersion }
            } else {
                bytes = valid
                for _ in 0..<(1 + Int(rng.next() % 3)) {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
            }
            if let m = try? Raft.Message.decode(bytes) {
                decoded += 1
                #expect((try? Raft.Message.decode(m.encode())) == m)
            }
        }
        #expect(decoded < 5000)
    }

    @Test("a heartbeat encodes in a handful of bytes")
    func compact() {
        let m = Raft.Message(kind: .heartbeat, from: 1, to: 2, term: 5, commit: 1000)
        #expect(m.encode().count <= 16)
    }
}
