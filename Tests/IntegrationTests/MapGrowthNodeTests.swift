import Foundation
import Testing

/// The spool's LMDB map grows by itself in the running node (`spool.maxMapSizeMB`).
@Suite("Spool map growth in the node", .serialized)
struct MapGrowthNodeTests {
    @Test("a 16 MiB map takes 20 MB of mail by growing (spool.map_grown logged), where a fixed one answers 452")
    func smallMapGrows() throws {
        let relay = try RelayProcess(overlay: ["spool": ["mapSizeMB": 16, "maxMapSizeMB": 256]])
        defer { relay.cleanUp() }
        let port = String(relay.port("relay"))
        let out = try python(LargeMessageTests.sender, ["127.0.0.1", port, String(1 << 20), "20"], timeout: 300)
        let results = (try? JSONSerialization.jsonObject(with: out.stdout) as? [[String: Any]]) ?? []
        #expect(results.count == 20 && results.allSatisfy { $0["ok"] as? Bool == true },
                "\(String(decoding: out.stdout, as: UTF8.self)) \(out.stderr)")
        #expect(relay.log().contains("spool.map_grown"), "\(relay.log().suffix(2_000))")
        let queue = try relay.adminJSON("/v1/queue?limit=100")
        #expect((queue["messages"] as? [[String: Any]])?.count == 20)
        let metrics = String(decoding: try relay.admin("/metrics").1, as: UTF8.self)
        let grown = metrics.split(separator: "\n").first { $0.hasPrefix("sendarix_lmdb_map_grown_total ") }
        #expect(grown.flatMap { Double($0.split(separator: " ").last ?? "") }.map { $0 >= 1 } == true, "\(String(describing: grown))")
    }
}
