import Foundation
import Testing
@testable import RelayConfig

/// deploy/examples/cluster: one config per node of a three-node cluster, and a fourth that joins it.
@Suite("deploy/examples/cluster per-node configs")
struct ClusterExamplesTests {
    static let dir = DeployExamplesTests.examplesDir + "/cluster"

    /// Validates the example (the secret and certificate files are absent here) and returns its
    /// node id, `cluster.join` and peers (id → address) as written.
    static func load(_ name: String) throws -> (id: String, join: Bool, peers: [String: String]) {
        let path = dir + "/" + name
        let result = RelayConfig.check(path: path, hashIterations: 1000)
        let errors = result.problems.filter { $0.severity == .error && !$0.message.hasSuffix("does not exist") }
        #expect(errors.isEmpty, "\(name): \(errors)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        let node = try #require(obj["node"] as? [String: Any])
        let cluster = try #require(obj["cluster"] as? [String: Any])
        var peers: [String: String] = [:]
        for p in cluster["peers"] as? [[String: Any]] ?? [] { peers[p["id"] as? String ?? ""] = p["address"] as? String ?? "" }
        return (node["id"] as? String ?? "", cluster["join"] as? Bool ?? false, peers)
    }

    @Test("the founders validate and each lists exactly the two others as peers, at the addresses they use")
    func founders() throws {
        let names = ["n1", "n2", "n3"]
        var peerAddress: [String: String] = [:]
        for n in names {
            let c = try Self.load(n + ".json")
            #expect(c.id == n)
            #expect(!c.join)
            #expect(c.peers.keys.sorted() == names.filter { $0 != n })
            for (id, address) in c.peers {
                if let seen = peerAddress[id] { #expect(seen == address, "\(id)") }
                peerAddress[id] = address
            }
        }
    }

    @Test("the joining node sets cluster.join and lists the founders, at the founders' addresses, as peers")
    func joiner() throws {
        let c = try Self.load("n4-join.json")
        #expect(c.id == "n4")
        #expect(c.join)
        #expect(c.peers == (try Self.load("n1.json")).peers.merging(["n1": "10.0.0.1:7700"]) { a, _ in a })
    }
}
