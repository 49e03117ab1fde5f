import Foundation
import Testing
@testable import RelayConfig

@Suite("RelayConfig cluster.preferredLeaderRegion")
struct LeaderRegionConfigTests {
    let dir = TempDir()
    let secret: String

    init() { secret = dir.write("cluster.key", "0123456789abcdef0123456789abcdef") }

    func cluster(_ extra: String) -> String {
        #"{"node": {"id": "n1", "region": "eu"}, "listen": {"peer": "127.0.0.1:7700"}, "#
            + #""cluster": {"secretFile": "\#(secret)", "peers": [{"id": "n2", "address": "127.0.0.2:7700", "region": "us"}]"#
            + extra + "}}"
    }

    @Test("a region of some member is read; absent, there is none")
    func reads() throws {
        #expect(try parseConfig(cluster(#", "preferredLeaderRegion": "us""#)).cluster.preferredLeaderRegion == "us")
        #expect(try parseConfig(cluster("")).cluster.preferredLeaderRegion == nil)
        dir.remove()
    }

    @Test("a region no member is in, or a malformed name, is an error naming the key")
    func rejectsUnknown() {
        let unknown = problems(cluster(#", "preferredLeaderRegion": "ap""#)).filter { $0.contains("preferredLeaderRegion") }
        #expect(unknown == ["cluster.preferredLeaderRegion: no node is in region 'ap' (known: eu, us)"])
        let bad = problems(cluster(#", "preferredLeaderRegion": "a b""#)).filter { $0.contains("preferredLeaderRegion") }
        #expect(bad.count == 1)
        dir.remove()
    }
}
