@testable import ClusterLog
import Foundation
import RelayConfig
import Testing

@Suite("cluster.bodiesInLog in the relay config")
struct LogBodyConfigTests {
    static func config(_ extra: String) -> Data {
        Data("""
        {"node": {"id": "n1", "dataDir": "/tmp/sx-n1"}, "listen": {"peer": "127.0.0.1:7700"},
         "cluster": {"secretFile": "/dev/null", "peers": [{"id": "n2", "address": "127.0.0.2:7700"}]\(extra)}}
        """.utf8)
    }

    @Test("cluster.bodiesInLog is on unless the config turns it off, and reaches the raft log options")
    func switchFromConfig() throws {
        var on = try RelayConfig.parse(data: Self.config(""), baseDirectory: "/")
        #expect(on.cluster.bodiesInLog)
        on.cluster.secret = "s"
        #expect(try RaftLog.Options(config: on).bodiesInLog)
        var off = try RelayConfig.parse(data: Self.config(#", "bodiesInLog": false"#), baseDirectory: "/")
        #expect(!off.cluster.bodiesInLog)
        off.cluster.secret = "s"
        #expect(try !RaftLog.Options(config: off).bodiesInLog)
    }
}
