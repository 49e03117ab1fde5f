import Foundation
import Testing
@testable import SpoolStore

/// The space figure admission control reads: it grows with stored messages and shrinks again when
/// they are removed (LMDB's free list counts as available).
@Suite("Spool space usage")
struct SpaceUsageTests {
    @Test("storing 2 MB of bodies uses about 2 MB; removing them gives the space back")
    func growsAndShrinks() async throws {
        let dir = NSTemporaryDirectory() + "sx-space-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SpoolStore(directory: dir, options: SpoolStore.Options(mapSize: 64 << 20, durable: false))
        defer { store.close() }
        let log = try LocalLog(store: store)
        defer { log.stop() }
        let before = try store.spaceUsage()
        #expect(before.mapSize == 64 << 20)
        for i in 0..<20 {
            let r = await log.proposeAndWait(makeEnqueue("S\(i)", body: Array(repeating: 0x78, count: 100_000)))
            #expect((try? r.get()) != nil)
        }
        let full = try store.spaceUsage()
        #expect(full.used - before.used >= 2_000_000)
        #expect(full.used - before.used < 6_000_000)
        for i in 0..<20 {
            let r = await log.proposeAndWait(.delete(SpoolCommand.Delete(queueID: "S\(i)", reason: "test", timestamp: 1)))
            #expect((try? r.get()) != nil)
        }
        // Freed pages are reusable: they count as available again (the events stay).
        let after = try store.spaceUsage()
        #expect(full.used - after.used >= 1_500_000)
    }
}

extension SpaceUsageTests {
    @Test("the available space is bounded by the filesystem's free space")
    func boundedByDisk() throws {
        let dir = NSTemporaryDirectory() + "sx-space-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A map far larger than any disk here: the disk is what limits.
        let store = try SpoolStore(directory: dir, options: SpoolStore.Options(mapSize: 1 << 44, durable: false))
        defer { store.close() }
        let usage = try store.spaceUsage()
        let free = try #require(usage.filesystemFree)
        #expect(free > 0)
        #expect(usage.available == free)
        #expect(usage.available < usage.mapSize - usage.used)
    }
}
