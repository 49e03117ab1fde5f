import CLMDB
import Testing
@testable import SpoolStore

/// Body storage layouts (`SpoolStore+Bodies.swift`): bodies written with one segment size must
/// read and delete after reopening with another (4080-byte chunks, the default and what older
/// versions wrote, and one value per body).
@Suite("Body segments")
struct BodySegmentTests {
    static let sizes = [0, 1, 4079, 4080, 4081, 102_400, 300_000]

    static func id(_ size: Int) -> String { "B\(size)" }

    /// The page number the data file ends at (it grows when freed pages are not reused).
    static func lastPage(_ store: SpoolStore) -> Int {
        var info = MDB_envinfo()
        mdb_env_info(store.env, &info)
        return info.me_last_pgno
    }

    @Test("bodies written with one segment size read, stream and delete after reopening with another",
          arguments: [(SpoolKeys.chunkSize, 256 * 4096 - 16), (256 * 4096 - 16, SpoolKeys.chunkSize)])
    func otherLayoutStillWorks(written: Int, reopened: Int) async throws {
        let dir = TempDirectory()
        do {
            var old = SpoolStore.Options()
            old.bodySegmentSize = written
            let store = try SpoolStore(directory: dir.path, options: old)
            let log = try LocalLog(store: store)
            for size in Self.sizes {
                _ = try await log.proposeAndWait(makeEnqueue(Self.id(size), body: testBody(size: size, seed: UInt64(size) + 7))).get()
            }
            let segments = Self.sizes.reduce(0) { $0 + SpoolStore.segmentCount(bodySize: $1, segment: written) }
            #expect(try store.tableCounts()["bodies"] == segments)
            log.stop()
            store.close()
        }
        var now = SpoolStore.Options()
        now.bodySegmentSize = reopened
        let store = try SpoolStore(directory: dir.path, options: now)
        for size in Self.sizes {
            let body = testBody(size: size, seed: UInt64(size) + 7)
            #expect(try store.messageBody(id: Self.id(size)) == body)
            var pieces: [Int] = []
            try store.forEachBodyChunk(id: Self.id(size)) { pieces.append($0.count) }
            #expect(pieces.dropLast().allSatisfy { $0 == written } && pieces.reduce(0, +) == size)
        }
        let log = try LocalLog(store: store)
        let fresh = testBody(size: 102_400, seed: 99)
        let before = try #require(try store.tableCounts()["bodies"])
        _ = try await log.proposeAndWait(makeEnqueue("NEW", body: fresh)).get()
        #expect(try store.tableCounts()["bodies"] == before + SpoolStore.segmentCount(bodySize: fresh.count, segment: reopened))
        for size in Self.sizes {
            _ = try await log.proposeAndWait(.delete(.init(queueID: Self.id(size), reason: "test", timestamp: 1))).get()
        }
        #expect(try store.tableCounts()["bodies"] == SpoolStore.segmentCount(bodySize: fresh.count, segment: reopened))
        #expect(try store.messageBody(id: "NEW") == fresh)
        _ = try await log.proposeAndWait(.delete(.init(queueID: "NEW", reason: "test", timestamp: 1))).get()
        #expect(try store.tableCounts()["bodies"] == 0)
        log.stop()
    }

    @Test("a body up to the segment size is one value, a longer one splits at the segment size, and both round-trip",
          arguments: [SpoolKeys.chunkSize, 256 * 4096 - 16])
    func segmentsOfNewBodies(segment: Int) async throws {
        let dir = TempDirectory()
        var options = SpoolStore.Options()
        options.bodySegmentSize = segment
        let store = try SpoolStore(directory: dir.path, options: options)
        let log = try LocalLog(store: store)
        for (n, size) in [102_400, segment, segment + 1, 3 * segment - 5].enumerated() {
            let body = testBody(size: size, seed: UInt64(n) + 1)
            let before = try #require(try store.tableCounts()["bodies"])
            _ = try await log.proposeAndWait(makeEnqueue("S\(n)", body: body)).get()
            #expect(try store.tableCounts()["bodies"] == before + (size + segment - 1) / segment)
            var pieces: [Int] = []
            var same = true
            try store.forEachBodyChunk(id: "S\(n)") { piece in
                let at = pieces.reduce(0, +)
                same = same && piece.elementsEqual(body[at..<at + piece.count])
                pieces.append(piece.count)
            }
            #expect(same && pieces.reduce(0, +) == size && pieces.dropLast().allSatisfy { $0 == segment })
            #expect(try store.messageBody(id: "S\(n)") == body)
        }
        log.stop()
    }

    @Test("deleting relayed 100 KB bodies frees their pages: 60 enqueue-delete rounds do not grow the data file",
          arguments: [SpoolKeys.chunkSize, 256 * 4096 - 16])
    func deletionFreesPages(segment: Int) async throws {
        let dir = TempDirectory()
        var options = SpoolStore.Options()
        options.bodySegmentSize = segment
        let store = try SpoolStore(directory: dir.path, options: options)
        let log = try LocalLog(store: store)
        var afterWarmup = 0
        for i in 0..<60 {
            _ = try await log.proposeAndWait(makeEnqueue("D\(i)", body: testBody(size: 102_400, seed: UInt64(i) + 1))).get()
            _ = try await log.proposeAndWait(.delete(.init(queueID: "D\(i)", reason: "test", timestamp: 1))).get()
            if i == 9 { afterWarmup = Self.lastPage(store) }
        }
        #expect(try store.tableCounts()["bodies"] == 0)
        // Each body takes 26 pages: without reuse the file would grow by 50 × 26 pages.
        let grown = Self.lastPage(store) - afterWarmup
        #expect(grown < 26 * 5, "data file grew by \(grown) pages")
        log.stop()
    }
}
