import CLMDB
import Foundation
import Synchronization
import Testing
@testable import SpoolStore

/// The spool's LMDB map grows by itself (`SpoolStore+MapGrowth`): when, how far, under load with
/// readers on other threads, at its maximum, and when another process grew it.
@Suite("Spool map growth")
struct MapGrowthTests {
    static let mib = 1 << 20

    @Test("grows at a quarter left (or for a large commit), doubling, never past the maximum or the disk")
    func target() {
        typealias G = SpoolStore.MapGrowth
        #expect(G.target(mapSize: 64 * Self.mib, used: 40 * Self.mib, filesystemFree: nil, maxMapSize: 1 << 40) == nil)
        #expect(G.target(mapSize: 64 * Self.mib, used: 49 * Self.mib, filesystemFree: nil, maxMapSize: 1 << 40) == 128 * Self.mib)
        #expect(G.target(mapSize: 64 * Self.mib, used: 20 * Self.mib, filesystemFree: nil, maxMapSize: 1 << 40,
                         needed: 30 * Self.mib) == 140 * Self.mib, "fits four times the commit at hand")
        #expect(G.target(mapSize: 64 * Self.mib, used: 60 * Self.mib, filesystemFree: nil, maxMapSize: 100 * Self.mib) == 100 * Self.mib)
        #expect(G.target(mapSize: 64 * Self.mib, used: 60 * Self.mib, filesystemFree: nil, maxMapSize: 64 * Self.mib) == nil)
        #expect(G.target(mapSize: 64 * Self.mib, used: 60 * Self.mib, filesystemFree: 10 * Self.mib, maxMapSize: 1 << 40) == 70 * Self.mib)
        #expect(G.target(mapSize: 64 * Self.mib, used: 60 * Self.mib, filesystemFree: 3 * Self.mib, maxMapSize: 1 << 40) == nil)
    }

    static func open(_ dir: String, mapSize: Int, max: Int) throws -> SpoolStore {
        var options = SpoolStore.Options(mapSize: mapSize, durable: false)
        options.maxMapSize = max
        return try SpoolStore(directory: dir, options: options)
    }

    @Test("a small map grows under load instead of refusing, while readers on other threads keep reading")
    func growsUnderLoadWithReaders() async throws {
        let dir = NSTemporaryDirectory() + "sx-grow-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Self.open(dir, mapSize: 4 * Self.mib, max: 256 * Self.mib)
        defer { store.close() }
        let grown = Mutex<[(Int, Int)]>([])
        store.onMapGrown { from, to in grown.withLock { $0.append((from, to)) } }
        let log = try LocalLog(store: store)
        defer { log.stop() }
        #expect(await log.proposeAndWait(makeEnqueue("first")).isSuccess)
        // Readers on other threads read the whole time.
        let stop = Atomic<Bool>(false)
        let reads = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        let readers = DispatchGroup()
        for _ in 0..<3 {
            DispatchQueue.global().async(group: readers) {
                while !stop.load(ordering: .relaxed) {
                    do {
                        guard try store.message(id: "first") != nil else { throw StoreError(.notFound, "first", context: "") }
                        _ = try store.dueEntries(now: Int64.max, after: nil, limit: 50)
                        _ = try store.spaceUsage()
                        reads.add(1, ordering: .relaxed)
                        usleep(500)
                    } catch {
                        failures.withLock { if $0.count < 100 { $0.append("\(error)") } }
                    }
                }
            }
        }
        // Readers stop before the store closes, whatever happens below.
        defer {
            stop.store(true, ordering: .relaxed)
            readers.wait()
        }
        let body = Array(repeating: UInt8(0x78), count: 200_000)
        var refused: [String] = []
        for i in 0..<120 {  // 24 MB of bodies into a 4 MiB map
            if case .failure(let e) = await log.proposeAndWait(makeEnqueue("m\(i)", body: body)) { refused.append("m\(i): \(e)") }
        }
        let readsBefore = reads.load(ordering: .relaxed)
        #expect(refused.isEmpty, "\(refused.prefix(3))")
        let usage = try store.spaceUsage()
        #expect(usage.mapSize >= 24 * Self.mib && usage.mapSize <= 256 * Self.mib)
        #expect(store.mapGrowthCount >= 2)
        let steps = grown.withLock { $0 }
        #expect(steps.count == store.mapGrowthCount && steps.allSatisfy { $0.1 > $0.0 }, "\(steps)")
        // Readers kept working across the resizes, and still do.
        while reads.load(ordering: .relaxed) < readsBefore + 10 { usleep(1_000) }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(3) })")
        #expect(try store.message(id: "m119")?.bodySize == 200_000)
    }

    @Test("at the maximum a full map refuses the commit as storageFull and keeps what it stored")
    func fullAtMaximum() async throws {
        let dir = NSTemporaryDirectory() + "sx-grow-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Self.open(dir, mapSize: 4 * Self.mib, max: 8 * Self.mib)
        defer { store.close() }
        let log = try LocalLog(store: store)
        defer { log.stop() }
        let body = Array(repeating: UInt8(0x78), count: 200_000)
        var stored: [String] = []
        var firstFailure: StoreError?
        for i in 0..<80 {
            switch await log.proposeAndWait(makeEnqueue("m\(i)", body: body)) {
            case .success: stored.append("m\(i)")
            case .failure(let e): firstFailure = firstFailure ?? e
            }
        }
        #expect(firstFailure?.code == .storageFull, "\(String(describing: firstFailure))")
        #expect(stored.count >= 8 && stored.count < 42, "\(stored.count)")
        #expect(try store.spaceUsage().mapSize == 8 * Self.mib)
        for id in stored { #expect(try store.message(id: id)?.bodySize == 200_000) }
    }

    @Test("a map grown by another process (MDB_MAP_RESIZED) is adopted by readers and the writer")
    func adoptsResizeByOthers() async throws {
        let dir = NSTemporaryDirectory() + "sx-grow-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Self.open(dir, mapSize: 4 * Self.mib, max: 0)
        defer { store.close() }
        let log = try LocalLog(store: store)
        defer { log.stop() }
        #expect(await log.proposeAndWait(makeEnqueue("first")).isSuccess)
        // A second handle (as another process would have) grows the map and fills it past 4 MiB.
        try MapAdoptionBoundTests.otherWrites(dir, mapSize: 32 * Self.mib, megabytes: 8)
        // Our reads and writes adopt the new size instead of failing.
        #expect(try store.message(id: "first") != nil)
        #expect(try store.spaceUsage().mapSize == 32 * Self.mib)
        #expect(await log.proposeAndWait(makeEnqueue("second")).isSuccess)
    }
}
