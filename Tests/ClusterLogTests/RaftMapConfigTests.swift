@testable import ClusterLog
import Foundation
import RelayConfig
import Testing

@Suite("cluster.raftMapSizeMB and raftMaxMapSizeMB in the relay config")
struct RaftMapConfigTests {
    @Test("the raft map opens at 32 GiB and may grow to 1 TiB by default; both keys reach the raft log options, and a maximum below the start size is refused")
    func fromConfig() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-rmc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "s3cret".write(toFile: dir + "/secret", atomically: true, encoding: .utf8)
        let defaults = try RaftLog.Options(config: RelayConfig.parse(data: LogBodyConfigTests.config(""), baseDirectory: dir))
        #expect(defaults.mapSize == 32 << 30 && defaults.maxMapSize == 1 << 40)
        let set = try RaftLog.Options(config: RelayConfig.parse(
            data: LogBodyConfigTests.config(#", "raftMapSizeMB": 16, "raftMaxMapSizeMB": 48"#), baseDirectory: dir))
        #expect(set.mapSize == 16 << 20 && set.maxMapSize == 48 << 20)
        // Fixed: the maximum equal to the start size.
        let fixed = try RaftLog.Options(config: RelayConfig.parse(
            data: LogBodyConfigTests.config(#", "raftMapSizeMB": 64, "raftMaxMapSizeMB": 64"#), baseDirectory: dir))
        #expect(fixed.maxMapSize == fixed.mapSize)
        for (extra, key) in [(#", "raftMapSizeMB": 64, "raftMaxMapSizeMB": 32"#, "cluster.raftMaxMapSizeMB"),
                             (#", "raftMapSizeMB": 8"#, "cluster.raftMapSizeMB")] {
            do {
                _ = try RelayConfig.parse(data: LogBodyConfigTests.config(extra), baseDirectory: dir)
                Issue.record("accepted: \(extra)")
            } catch {
                #expect("\(error)".contains(key), "\(error)")
            }
        }
    }
}
