@testable import ClusterLog
import Foundation
import RelayConfig
import Testing

@Suite("cluster.bodiesInLog in the relay config")
struct LogBodyConfigTests {
    static func config(_ extra: String) -> Data {
        Data("""
        {"node": {"id": "n1", "dataDir": "data"}, "listen": {"peer": "127.0.0.1:7700"},
         "cluster": {"secretFile": "secret", "peers": [{"id": "n2", "address": "127.0.0.2:7700"}]\(extra)}}
        """.utf8)
    }

    @Test("cluster.bodiesInLog is on unless the config turns it off, and reaches the raft log options")
    func switchFromConfig() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-bil-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "s3cret".write(toFile: dir + "/secret", atomically: true, encoding: .utf8)
        let on = try RelayConfig.parse(data: Self.config(""), baseDirectory: dir)
        #expect(on.cluster.bodiesInLog)
        #expect(try RaftLog.Options(config: on).bodiesInLog)
        let off = try RelayConfig.parse(data: Self.config(#", "bodiesInLog": false"#), baseDirectory: dir)
        #expect(!off.cluster.bodiesInLog)
        #expect(try !RaftLog.Options(config: off).bodiesInLog)
    }
}
