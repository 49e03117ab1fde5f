@testable import ClusterLog
import Foundation
import Glibc
import SpoolStore
import Testing

/// Replication throughput with and without mutual TLS on the peer links, printed only (speed
/// belongs to benchmarks, not to tests). Asserts only that every proposal is acknowledged.
@Suite("Peer TLS figures", .serialized)
struct PeerTLSBenchTests {
    @Test("3 nodes, 20 proposers, 3000 × 5 KB enqueues, plain then mutual TLS: every proposal acknowledged (figures printed)")
    func throughput() throws {
        signal(SIGPIPE, SIG_IGN)
        let pki = try TestPKI()
        let files = try ["n1", "n2", "n3"].map { try pki.issue($0) }
        for tls in [false, true] {
            let c = try ClusterHarness(nodes: 3) { o in
                if tls { o.tls = files[Int(o.nodeID.dropFirst())! - 1] }
            }
            #expect(c.awaitLeader(RaftLogBenchTests.hangGuard) != nil)
            let (acked, failed, seconds) = RaftLogBenchTests.load(c.running, count: 3000, proposers: 20, size: 5000,
                                                                  prefix: tls ? "T" : "P")
            #expect(acked.count == 3000 && failed.isEmpty, "\(failed.values.prefix(3))")
            print(String(format: "peer links %@: %d enqueues of 5 KB in %.2f s = %.0f/s", tls ? "mutual TLS" : "plain",
                         acked.count, seconds, Double(acked.count) / seconds))
        }
    }
}
