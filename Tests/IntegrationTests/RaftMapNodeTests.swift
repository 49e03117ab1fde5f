import Foundation
import Testing

/// The raft store's LMDB map grows by itself in a running cluster (`cluster.raftMaxMapSizeMB`),
/// where it holds the bodies of queued messages (`cluster.bodiesInLog`), and admission answers 452
/// only once that maximum is near. Nodes on 127.79.0.1-3.
@Suite("Raft map growth in a cluster", .serialized)
struct RaftMapNodeTests {
    static let ips = ["127.79.0.1", "127.79.0.2", "127.79.0.3"]

    @Test("a 16 MiB raft map takes queued 1 MB messages past its size by growing (raft.map_grown logged), and new mail gets 452 only near the 48 MiB maximum")
    func raftMapGrowsThenRefusesAtMaximum() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-rmap-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let extra: [String: Any] = [
            "cluster": ["raftMapSizeMB": 16, "raftMaxMapSizeMB": 48],
            // New mail is refused once less than 8 MiB (plus the message) is left.
            "spool": ["reserveMB": 8],
            "listen": ["relay": ["\(Self.ips[0]):0"]],
        ]
        let nodes = try ClusterRaftTests.startCluster(dir, ips: Self.ips, extra: extra)
        defer { for n in nodes { n.cleanUp() } }
        #expect(ClusterRaftTests.waitFor(30) { ClusterRaftTests.leader(nodes) != nil })
        // Every node stores every body in its raft map: send through the first one until refused.
        let port = String(nodes[0].port("relay"))
        let out = try python(LargeMessageTests.sender, [Self.ips[0], port, String(1 << 20), "50"], timeout: 600)
        let results = (try? JSONSerialization.jsonObject(with: out.stdout) as? [[String: Any]]) ?? []
        #expect(results.count == 50, "\(String(decoding: out.stdout, as: UTF8.self)) \(out.stderr.suffix(1_000))")
        let accepted = results.prefix { $0["ok"] as? Bool == true }.count
        // More than the 16 MiB map the node started with: it grew rather than refusing.
        #expect(accepted >= 20, "accepted \(accepted): \(results.dropFirst(accepted).first ?? [:])")
        // Then 452 4.3.1, before 48 MiB are in. Near the limit an odd message still fits (pages
        // freed by compaction become reusable), but the refusals stay.
        let codes = results.map { ($0["ok"] as? Bool == true) ? "ok" : "\($0["code"] ?? "?")" }
        #expect(results.filter { $0["ok"] as? Bool == true }.count < 48, "\(codes)")
        let refused = results.dropFirst(accepted)
        #expect(!refused.isEmpty && refused.allSatisfy { $0["ok"] as? Bool == true || $0["code"] as? Int == 452 }, "\(codes)")
        #expect(refused.filter { $0["code"] as? Int == 452 }.count >= 5, "\(codes)")
        #expect((refused.first?["msg"] as? String)?.contains("4.3.1") == true, "\(refused.first ?? [:])")
        #expect(nodes[0].log().contains("raft.map_grown"), "\(nodes[0].log().suffix(2_000))")
        let metrics = String(decoding: try nodes[0].admin("/metrics").1, as: UTF8.self)
        func sample(_ name: String) -> Double? {
            metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        #expect((sample("sendarix_raft_lmdb_map_grown_total") ?? 0) >= 1, "\(metrics.suffix(1_500))")
        #expect((sample("sendarix_raft_lmdb_map_size_bytes") ?? 0) > Double(16 << 20))
        #expect((sample("sendarix_raft_lmdb_map_size_bytes") ?? .infinity) <= Double(48 << 20))
    }
}
