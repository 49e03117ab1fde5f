import SendarixSupport
import Testing
@testable import RaftCore

/// A seeded storm of arbitrary (decodable) messages from a hostile peer: the nodes must never trap
/// and their logs must stay internally consistent.
@Suite("Raft under a hostile peer")
struct RaftHostilePeerTests {
    static func message(_ rng: inout SplitMix64, to: UInt64, term: UInt64, last: UInt64) -> Raft.Message {
        let pool: [UInt64] = [0, 1, 2, last &- 1, last, last + 1, last + 5, term &- 1, term, term + 1, term + 7,
                              Raft.Message.maxTermOrIndex, Raft.Message.maxTermOrIndex + 1, .max - 1, .max]
        func pick(_ rng: inout SplitMix64) -> UInt64 { pool[Int(rng.next() % UInt64(pool.count))] }
        let kind = Raft.Message.Kind(rawValue: UInt8(rng.next() % 12))!
        let mTerm = rng.next() % 3 == 0 ? pick(&rng) : term + rng.next() % 2
        let index = pick(&rng)
        var entries: [Raft.Entry] = []
        let count = Int(rng.next() % 4)
        for i in 0..<count {
            let consecutive = rng.next() % 3 != 0
            let eIndex = consecutive ? index &+ 1 &+ UInt64(i) : pick(&rng)
            let eTerm = rng.next() % 2 == 0 ? mTerm : pick(&rng)
            entries.append(Raft.Entry(term: eTerm, index: eIndex, data: [UInt8(i)]))
        }
        var snapshot: Raft.Snapshot?
        if rng.next() % 6 == 0 {
            let voters: [UInt64] = rng.next() % 2 == 0 ? [1, 2, 3] : [UInt64](repeating: rng.next() % 5, count: Int(rng.next() % 3))
            snapshot = Raft.Snapshot(index: pick(&rng), term: rng.next() % 2 == 0 ? mTerm : pick(&rng),
                                     confState: Raft.ConfState(voters: voters))
        }
        return Raft.Message(kind: kind, from: rng.next() % 5, to: to, term: mTerm, logTerm: rng.next() % 2 == 0 ? term : pick(&rng),
                            index: index, entries: entries, commit: pick(&rng), reject: rng.next() % 2 == 0,
                            rejectHint: pick(&rng), isTransfer: rng.next() % 4 == 0, snapshot: snapshot,
                            context: rng.next() % 8 == 0 ? [UInt8](repeating: 1, count: 5000) : [UInt8(rng.next() % 3)])
    }

    @Test("5,000 arbitrary messages from a hostile peer, interleaved with normal traffic, trap no node and leave every log consistent",
          arguments: [1 as UInt64, 2, 3])
    func storm(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let c = TestCluster(voters: [1, 2, 3])
        c.campaign(1)
        for round in 0..<5_000 {
            let target = 1 + rng.next() % 3
            let node = c.nodes[target]!
            node.step(Self.message(&rng, to: target, term: node.term, last: node.lastIndex))
            c.process(target)
            if round % 50 == 0 {
                if let l = c.leaders.first { _ = try? c.nodes[l]!.propose([UInt8(round % 256)]) }
                c.tickAll()
            }
            for n in c.nodes.values {
                #expect(n.commitIndex <= n.lastIndex && n.appliedIndex <= n.commitIndex && n.firstIndex <= n.lastIndex + 1)
                // A hostile peer can push the term to the limit (and disrupt elections: liveness
                // relies on peers); elections past it add one per round, far from overflowing.
                #expect(n.term <= Raft.Message.maxTermOrIndex + 5_000)
            }
        }
        #expect(c.nodes.values.reduce(0) { $0 + $1.malformedDropped } > 0)
    }
}
