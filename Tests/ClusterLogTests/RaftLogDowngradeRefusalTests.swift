@testable import ClusterLog
import Foundation
import NetworkIO
import Registry
import SpoolStore
import Testing

@Suite("Replicated log: a leader at an older format refuses what that format cannot hold")
struct RaftLogDowngradeRefusalTests {
    @Test("a pending webhook batch result meets a leader whose cluster writes format 4: refused with the format gate's error, not committed as a no-op; other proposals are re-encoded and stay")
    func batchResultRefusedNotNoOp() throws {
        let c = try ClusterHarness(nodes: 1)
        let leader = try #require(c.awaitLeader())
        let log = c.logs[leader]!
        let results = SpoolCommand.registry(.webhook(.batchResults(.init(endpoint: "ep_1", owner: "n1", incarnation: 4, results: [
            .init(first: 1, sequences: [1, 2], attempt: .init(attempt: 1, at: 11, status: 410, latencyMillis: 3, response: "gone",
                                                              node: "n1"), verdict: .gone)]))))
        let outcome = Box()
        let (refusedCount, kept) = log.onLoop { l -> (Int, [UInt8]) in
            let saved = l.effectiveFormat
            l.effectiveFormat = 4
            let deadline = EventLoop.now() + 60_000_000_000
            l.pending.append(RaftLog.Proposal(data: results.encoded(format: 5), origin: .local({ outcome.set($0) }), deadline: deadline))
            l.pending.append(RaftLog.Proposal(data: ClusterHarness.enqueue("K1").encoded(format: 5), origin: .local({ _ in }), deadline: deadline))
            l.downgradePending()
            let left = l.pending.map { $0.data.first ?? 0 }
            let n = l.pending.count
            l.pending.removeAll()
            l.effectiveFormat = saved
            return (2 - n, left)
        }
        #expect(refusedCount == 1, "the batch result left pending: \(kept)")
        #expect(kept.allSatisfy { $0 <= 4 }, "what stays is re-encoded for format 4: \(kept)")
        guard case .failure(let e)? = outcome.value else {
            Issue.record("the batch result was not refused: \(String(describing: outcome.value))")
            return
        }
        #expect(e.context == SpoolCommand.formatGateContext)
    }

    final class Box: @unchecked Sendable {  // guarded by `lock`
        private let lock = NSLock()
        private var result: Result<UInt64, StoreError>?
        func set(_ r: Result<UInt64, StoreError>) { lock.withLock { result = r } }
        var value: Result<UInt64, StoreError>? { lock.withLock { result } }
    }
}
