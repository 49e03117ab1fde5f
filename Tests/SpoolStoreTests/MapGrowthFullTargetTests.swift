import Glibc
import Testing
@testable import SpoolStore

/// The growth of a map a write found full (`SpoolStore.MapGrowth.fullTarget`), and the deadline
/// of a timed wait for the env (`MapGrowthState.deadline`).
@Suite("Map growth of a full map")
struct MapGrowthFullTargetTests {
    static let mib = 1 << 20

    @Test("a full map grows even when its free list is large (pages a long read keeps from reuse), to twice its size or four times the write more, within the maximum and the disk")
    func fullMapGrows() {
        // 64 MiB map, written to its end, 60 MiB of it on the free list: `target` sees room,
        // the full map's growth does not go by it.
        #expect(SpoolStore.MapGrowth.target(mapSize: 64 * Self.mib, used: 4 * Self.mib, filesystemFree: nil,
                                            maxMapSize: 1024 * Self.mib, needed: Self.mib) == nil)
        #expect(SpoolStore.MapGrowth.fullTarget(mapSize: 64 * Self.mib, written: 64 * Self.mib, filesystemFree: nil,
                                                maxMapSize: 1024 * Self.mib, needed: Self.mib) == 128 * Self.mib)
        // A write larger than the map: room for four of it.
        #expect(SpoolStore.MapGrowth.fullTarget(mapSize: 64 * Self.mib, written: 64 * Self.mib, filesystemFree: nil,
                                                maxMapSize: 1024 * Self.mib, needed: 40 * Self.mib) == 224 * Self.mib)
        // Capped by the maximum, and by the disk (the data file's extent plus the free space).
        #expect(SpoolStore.MapGrowth.fullTarget(mapSize: 64 * Self.mib, written: 64 * Self.mib, filesystemFree: nil,
                                                maxMapSize: 100 * Self.mib) == 100 * Self.mib)
        #expect(SpoolStore.MapGrowth.fullTarget(mapSize: 64 * Self.mib, written: 64 * Self.mib,
                                                filesystemFree: 10 * Self.mib + 5, maxMapSize: 1024 * Self.mib) == 74 * Self.mib)
        // At the maximum, or with no disk left, it cannot grow.
        #expect(SpoolStore.MapGrowth.fullTarget(mapSize: 64 * Self.mib, written: 64 * Self.mib, filesystemFree: nil,
                                                maxMapSize: 64 * Self.mib) == nil)
        #expect(SpoolStore.MapGrowth.fullTarget(mapSize: 64 * Self.mib, written: 64 * Self.mib, filesystemFree: 0,
                                                maxMapSize: 1024 * Self.mib) == nil)
        #expect(SpoolStore.MapGrowth.fullTarget(mapSize: 64 * Self.mib, written: 64 * Self.mib, filesystemFree: nil,
                                                maxMapSize: 0) == nil)
    }

    @Test("the deadline of a timed wait for the env is on the monotonic clock")
    func deadlineIsMonotonic() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let deadline = MapGrowthState.deadline(after: 1.5)
        var after = timespec()
        clock_gettime(CLOCK_MONOTONIC, &after)
        func nanos(_ t: timespec) -> Int { Int(t.tv_sec) * 1_000_000_000 + Int(t.tv_nsec) }
        #expect(deadline.tv_nsec >= 0 && deadline.tv_nsec < 1_000_000_000)
        // 1.5 s after a moment between the two readings (the wall clock is decades past them).
        #expect(nanos(deadline) >= nanos(now) + 1_500_000_000 && nanos(deadline) <= nanos(after) + 1_500_000_000,
                "\(deadline) vs \(now)")
    }
}
