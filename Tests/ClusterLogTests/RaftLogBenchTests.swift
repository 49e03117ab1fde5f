@testable import ClusterLog
import Foundation
import SpoolStore
import Synchronization
import Testing

/// Throughput and failover figures with production timing (100 ms ticks, 10-tick elections).
/// Prints its figures (unacknowledged proposals too); asserts that proposals get through and that
/// every acknowledged enqueue is on every node.
@Suite("Replicated log figures", .serialized)
struct RaftLogBenchTests {
    /// Runs `proposers` closed-loop proposers (each waits for its previous completion) on `logs`
    /// for `count` enqueues of `size` bytes; returns (acked ids, seconds).
    static func load(_ logs: [RaftLog], count: Int, proposers: Int, size: Int, prefix: String) -> ([String], Double) {
        let acked = Mutex<[String]>([])
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
                        if case .success = r { acked.withLock { $0.append(id) } }
                        sem.signal()
                    }
                    sem.wait()
                }
                group.leave()
            }
        }
        group.wait()
        return (acked.withLock { $0 }, Date().timeIntervalSince(start))
    }

    @Test("3 nodes, 20 proposers, 5 KB enqueues: commits/s; leader kill to first commit")
    func figures() throws {
        let c = try ClusterHarness(nodes: 3) { o in
            o.tickInterval = 0.1
            o.electionTicks = 10
        }
        let leader = try #require(c.awaitLeader(15))
        // SENDARIX_BENCH=1 for the reported figures; the default keeps the suite quick.
        let n = ProcessInfo.processInfo.environment["SENDARIX_BENCH"] == nil ? 400 : 4000
        // All proposers on the leader, then all spread over every node (followers forward).
        let (a1, t1) = Self.load([c.logs[leader]!], count: n, proposers: 20, size: 5000, prefix: "A")
        let (a2, t2) = Self.load(c.running, count: n, proposers: 20, size: 5000, prefix: "B")
        print(String(format: "raft bench: via leader %.0f commits/s (%d acked), spread over 3 nodes %.0f commits/s (%d acked)",
                     Double(a1.count) / t1, a1.count, Double(a2.count) / t2, a2.count))
        // A leadership change or a proposal queued past its timeout behind fsyncs on a busy disk
        // fails some proposals: reported, not asserted. Some must get through.
        if a1.count != n || a2.count != n {
            print("raft bench: \(n - a1.count) + \(n - a2.count) proposals not acknowledged")
        }
        #expect(!a1.isEmpty && !a2.isEmpty, "no proposal acknowledged")
        // Failover under a trickle of proposals from a surviving node.
        let survivor = c.names.first { $0 != leader }!
        let killedAt = Date()
        c.stopNode(leader, transfer: false)
        var firstCommit: Double?
        var attempts = 0
        while firstCommit == nil && Date().timeIntervalSince(killedAt) < 20 {
            let r = Mutex<Result<UInt64, StoreError>?>(nil)
            let sem = DispatchSemaphore(value: 0)
            c.logs[survivor]!.propose(ClusterHarness.enqueue("X\(attempts)", size: 5000)) { res in
                r.withLock { $0 = res }
                sem.signal()
            }
            sem.wait()
            attempts += 1
            if case .success? = r.withLock({ $0 }) { firstCommit = Date().timeIntervalSince(killedAt) }
        }
        print(String(format: "raft bench: leader kill → first commit %.2f s (%d attempts)", firstCommit ?? -1, attempts))
        #expect(firstCommit != nil)
        let all = a1 + a2
        for name in c.names where c.stores[name] != nil {
            #expect(c.wait(20) { all.allSatisfy { (try? c.stores[name]!.message(id: $0)) != nil } }, "node \(name)")
        }
    }
}
