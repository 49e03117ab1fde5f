@testable import ClusterLog
import Foundation
import SpoolStore
import Synchronization
import Testing

/// Throughput and failover figures, printed only (speed belongs to cluster/bench, not to tests).
/// Asserts what must hold whatever the machine's speed: in a fault-free run every proposal is
/// acknowledged; after the leader is killed a survivor commits again; every acknowledged enqueue
/// is on every surviving node. The waits below are hang guards, not speed expectations.
@Suite("Replicated log figures", .serialized)
struct RaftLogBenchTests {
    /// Hang guard for conditions that must eventually hold.
    static let hangGuard: Double = 120

    /// Runs `proposers` closed-loop proposers (each waits for its previous completion) on `logs`
    /// for `count` enqueues of `size` bytes; returns (acked ids, failures, seconds).
    static func load(_ logs: [RaftLog], count: Int, proposers: Int, size: Int, prefix: String)
        -> ([String], [String: StoreError], Double) {
        let acked = Mutex<[String]>([])
        let failed = Mutex<[String: StoreError]>([:])
        let group = DispatchGroup()
        let start = Date()
        let perProposer = count / proposers
        for p in 0..<proposers {
            group.enter()
            let log = logs[p % logs.count]
            Thread.detachNewThread {
                let sem = DispatchSemaphore(value: 0)
                for i in 0..<perProposer {
                    let id = "\(prefix)\(p)-\(i)"
                    log.propose(ClusterHarness.enqueue(id, size: size)) { r in
                        switch r {
                        case .success: acked.withLock { $0.append(id) }
                        case .failure(let e): failed.withLock { $0[id] = e }
                        }
                        sem.signal()
                    }
                    sem.wait()
                }
                group.leave()
            }
        }
        group.wait()
        return (acked.withLock { $0 }, failed.withLock { $0 }, Date().timeIntervalSince(start))
    }

    @Test("3 nodes, 20 proposers, 5 KB enqueues: every proposal acknowledged; after a leader kill a survivor commits again")
    func figures() throws {
        // The harness's election timing (1.5–3 s) and a proposal timeout far beyond any fsync stall:
        // a proposal fails only for a real reason (its slot lost to another leader, no quorum).
        let c = try ClusterHarness(nodes: 3) { o in
            o.proposalTimeout = Self.hangGuard
        }
        let leader = try #require(c.awaitLeader(Self.hangGuard))
        let term = c.logs[leader]!.status().term
        // SENDARIX_BENCH=1 for more proposals; the default keeps the suite quick.
        let n = ProcessInfo.processInfo.environment["SENDARIX_BENCH"] == nil ? 400 : 4000
        // All proposers on the leader, then all spread over every node (followers forward).
        let (a1, f1, t1) = Self.load([c.logs[leader]!], count: n, proposers: 20, size: 5000, prefix: "A")
        let (a2, f2, t2) = Self.load(c.running, count: n, proposers: 20, size: 5000, prefix: "B")
        print(String(format: "raft bench: via leader %.0f commits/s (%d acked), spread over 3 nodes %.0f commits/s (%d acked)",
                     Double(a1.count) / t1, a1.count, Double(a2.count) / t2, a2.count))
        // Fault-free: nothing may fail.
        #expect(a1.count == n && f1.isEmpty, "via leader: \(f1.count) failed, e.g. \(String(describing: f1.first))")
        #expect(a2.count == n && f2.isEmpty, "spread: \(f2.count) failed, e.g. \(String(describing: f2.first))")
        #expect(Set(a1 + a2).count == 2 * n)
        let after = c.logs[leader]!.status()
        print("raft bench: leader \(leader) term \(term) before the load, leader \(after.leader ?? "-") term \(after.term) after")

        // Failover: kill the leader without transfer; proposals from a survivor keep coming until
        // one commits (under the new leader).
        let survivor = c.names.first { $0 != leader }!
        let killedAt = Date()
        c.stopNode(leader, transfer: false)
        // Like an SMTP client after a 451, the test proposes again every few seconds without waiting
        // for earlier proposals to end: one forwarded to the killed leader after it stopped reading
        // is answered by no one and waits out its (here very long) deadline; it must not hold the
        // next ones back.
        var firstCommit: Double?
        var attempts = 0
        let outcomes = Mutex<[Result<UInt64, StoreError>]>([])
        let landed = DispatchSemaphore(value: 0)
        while firstCommit == nil && Date().timeIntervalSince(killedAt) < Self.hangGuard {
            c.logs[survivor]!.propose(ClusterHarness.enqueue("X\(attempts)", size: 5000)) { res in
                outcomes.withLock { $0.append(res) }
                landed.signal()
            }
            attempts += 1
            let retryAt = DispatchTime.now() + 5
            while firstCommit == nil, landed.wait(timeout: retryAt) == .success {
                if outcomes.withLock({ $0.contains { (try? $0.get()) != nil } }) {
                    firstCommit = Date().timeIntervalSince(killedAt)
                }
            }
        }
        let errors = outcomes.withLock { $0.compactMap { r -> String? in if case .failure(let e) = r { return "\(e)" } else { return nil } } }
        print(String(format: "raft bench: leader kill → first commit %.2f s (%d attempts)", firstCommit ?? -1, attempts))
        #expect(firstCommit != nil, "no commit after the leader was killed: \(errors.suffix(3))")
        let newLeader = c.awaitLeader(Self.hangGuard)
        #expect(newLeader != nil && newLeader != leader)
        let all = a1 + a2
        for name in c.names where c.stores[name] != nil {
            let missing = { all.filter { (try? c.stores[name]!.message(id: $0)) == nil } }
            #expect(c.wait(Self.hangGuard) { missing().isEmpty }, "node \(name) lacks \(missing().count) acknowledged enqueues")
        }
    }
}
