@testable import ClusterLog
import Foundation
import RaftCore
import Testing

@Suite("Raft map free space, for admission")
struct LogBodyReaderSpaceTests {
    @Test("the raft map's free bytes fall as 100 KB entries are stored, come back once they are compacted away (the free list counts), and are nil after close")
    func availableFollowsUse() throws {
        let dir = RaftLogStorageTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mapSize = 64 << 20
        let s = try RaftLogStorage(directory: dir, initialVoters: [1], mapSize: mapSize)
        let empty = try #require(s.bodyReader.availableBytes())
        #expect(empty <= mapSize && empty > mapSize - (1 << 20))
        let body = [UInt8](repeating: 0x61, count: 100_000)
        let entries = (1...100).map { Raft.Entry(term: 1, index: UInt64($0), data: body) }
        try s.persist(entries: entries, hardState: Raft.HardState(term: 1, vote: 1, commit: 100))
        let full = try #require(s.bodyReader.availableBytes())
        // 100 entries of 100,000 bytes take at least 10 MB of pages.
        #expect(empty - full >= 100 * 100_000, "free \(empty) → \(full)")
        try s.compact(to: 100)
        // Two more writes let LMDB move the freed pages onto the free list readers see.
        try s.persist(entries: [Raft.Entry(term: 1, index: 101, data: [1])], hardState: nil)
        try s.persist(entries: [Raft.Entry(term: 1, index: 102, data: [2])], hardState: nil)
        let after = try #require(s.bodyReader.availableBytes())
        #expect(after - full >= 90 * 100_000, "free after compaction \(after), before \(full)")
        s.close()
        #expect(s.bodyReader.availableBytes() == nil)
    }
}
