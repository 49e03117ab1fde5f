@testable import ClusterLog
import Foundation
import RaftCore
import Testing

/// The raft log adopts a map size another process set within its maximum (`LogBodyReader+MapGrowth`,
/// `SpoolStore+MapAdoption`).
@Suite("Raft map adoption is bounded")
struct RaftMapAdoptionTests {
    static let mib = 1 << 20

    @Test("another process set a 1 TiB raft map and wrote 8 MB: the log adopts its 64 MiB maximum and reads the new entries")
    func hugeSizeCapped() throws {
        let dir = RaftLogStorageTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try RaftLogStorage(directory: dir, initialVoters: [1], mapSize: 4 * Self.mib, maxMapSize: 64 * Self.mib)
        defer { s.close() }
        try s.persist(entries: RaftMapGrowthTests.entries(1...1, size: 1_000), hardState: Raft.HardState(term: 1, vote: 1, commit: 1))
        do {
            // A second handle, as another process would have.
            let other = try RaftLogStorage(directory: dir, initialVoters: [1], mapSize: 1 << 40)
            try other.persist(entries: RaftMapGrowthTests.entries(2...81, size: 100_000), hardState: nil)
            other.close()
        }
        #expect(try s.holdsEntry(81))
        let size = try s.bodyReader.spaceUsage().mapSize
        #expect(size == 64 * Self.mib, "adopted \(size) bytes")
    }
}
