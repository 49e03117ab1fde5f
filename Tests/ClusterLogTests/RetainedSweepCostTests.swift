@testable import ClusterLog
import Foundation
import RaftCore
import Testing

/// What one `sweepRetained` costs the raft loop (review finding LOW8): a unit benchmark that
/// prints figures, run only with `SENDARIX_SWEEP_BENCH=1` (it writes about 500 MB). No timed
/// assertion: the figures are for reading.
@Suite("Retained-entry sweep cost (SENDARIX_SWEEP_BENCH=1)", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["SENDARIX_SWEEP_BENCH"] == "1"))
struct RetainedSweepCostTests {
    /// 10^5 entries of 5 KB (a queued 5 KB message's enqueue), all retained below the compaction
    /// point; then sweeps with every entry still pinned (the walk and check alone), and with none
    /// pinned (the deletes), at the given slice size.
    @Test("one sweep over 10^5 retained 5 KB entries: milliseconds per call with all pinned and with none pinned",
          arguments: [65_536, 4_096, 1_024])
    func sweepCost(slice: Int) throws {
        let count: UInt64 = 100_000
        let dir = RaftLogStorageTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try RaftLogStorage(directory: dir, initialVoters: [1], mapSize: 2 << 30, maxMapSize: 8 << 30)
        defer { s.close() }
        for first in stride(from: UInt64(1), through: count, by: 1_000) {
            try s.persist(entries: RaftMapGrowthTests.entries(first...first + 999, size: 5_000),
                          hardState: first == 1 ? Raft.HardState(term: 1, vote: 1, commit: count) : nil)
        }
        while s.firstIndex < count - 9 {
            _ = try s.compact(to: count - 10) { range throws(ClusterError) in Array(range) }
        }
        let retained = s.retainedCount
        #expect(retained == Int(count - 10))
        func timed(_ body: () throws -> Int) rethrows -> (ms: Double, dropped: Int) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let n = try body()
            return (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6, n)
        }
        // All pinned: one call walks `slice` keys and asks about them; nothing is written.
        let walk = try timed {
            try s.sweepRetained(max: slice) { indexes throws(ClusterError) in Set(indexes) }
        }
        // None pinned: each call deletes up to `slice` entries in one synced write.
        var calls: [Double] = []
        while s.retainedCount > 0 {
            calls.append(try timed { try s.sweepRetained(max: slice) { _ throws(ClusterError) in [] } }.ms)
        }
        let sorted = calls.sorted()
        print(String(format: "sweep bench: retained %d x 5 KB, slice %d: all pinned %.1f ms per call; none pinned %d calls, "
                     + "max %.1f ms, median %.1f ms, total %.1f ms (%.3f ms per 1,000 deleted)",
                     retained, slice, walk.ms, calls.count, sorted.last ?? 0, sorted[sorted.count / 2],
                     calls.reduce(0, +), calls.reduce(0, +) / Double(retained) * 1000))
        #expect(s.retainedCount == 0)
    }
}
