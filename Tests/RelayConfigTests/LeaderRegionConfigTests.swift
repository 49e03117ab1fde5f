import Foundation
import Testing
@testable import RelayConfig

@Suite("RelayConfig cluster.preferredLeaderRegion")
struct LeaderRegionConfigTests {
    func cluster(_ extra: String) -> String {
        #"{"node": {"id": "n1", "region": "eu"}, "listen": {"peer": "127.0.0.1:7700"}, "#
            + #""cluster": {"secretFile": "/dev/null", "peers": [{"id": "n2", "address": "127.0.0.2:7700", "region": "us"}]"#
            + extra + "}}"
    }

    @Test("a region of some member is read; absent, there is none")
    func reads() throws {
        #expect(try parseConfig(cluster(#", "preferredLeaderRegion": "us""#)).cluster.preferredLeaderRegion == "us")
        #expect(try parseConfig(cluster("")).cluster.preferredLeaderRegion == nil)
    }

    @Test("a region no member is in, or a malformed name, is an error naming the key")
    func rejectsUnknown() {
        let unknown = problems(cluster(#", "preferredLeaderRegion": "ap""#)).filter { $0.contains("preferredLeaderRegion") }
        #expect(unknown == ["cluster.preferredLeaderRegion: no node is in region 'ap' (known: eu, us)"])
        let bad = problems(cluster(#", "preferredLeaderRegion": "a b""#)).filter { $0.contains("preferredLeaderRegion") }
        #expect(bad.count == 1)
    }
}
