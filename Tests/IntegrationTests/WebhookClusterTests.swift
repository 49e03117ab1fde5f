import Foundation
import Testing
import TestSupport

/// Webhooks in a 3-node Raft cluster (127.51.1.1-3): the node sending an endpoint's calls is
/// SIGKILLed under event load; the survivors take its leases over and the receiver still gets
/// every event, duplicates only with the same webhook-id (counted): a batch taken over is sent
/// again as it was formed.
@Suite("Webhooks in a cluster of real nodes", .serialized)
struct WebhookClusterTests {
    static let ips = ["127.51.1.1", "127.51.1.2", "127.51.1.3"]

    @Test("SIGKILL of the node sending webhooks under event load: no event lost, duplicates only of in-flight calls")
    func ownerKilledUnderLoad() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-hook-cluster-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let receiver = try WebhookReceiver(host: "127.51.1.10")
        try receiver.setMode(200, delay: 0.2)  // POSTs are in flight when the owner dies
        try receiver.start()
        var webhooks = WebhookTests.fastWebhooks
        webhooks["leaseSeconds"] = 3
        let nodes = try ClusterRaftTests.startCluster(dir, ips: Self.ips, extra: ["webhooks": webhooks])
        defer {
            for n in nodes { n.cleanUp() }
            receiver.stop()
            try? FileManager.default.removeItem(atPath: dir)
        }
        #expect(ClusterRaftTests.waitFor(60) { ClusterRaftTests.leader(nodes) != nil })
        var created: [String: Any] = [:]
        #expect(ClusterRaftTests.waitFor(20) {
            let r = try? SendingDomainTests.request(nodes[0], "POST", "/v1/webhooks",
                                                    ["url": receiver.url, "tenant": "acme", "events": ["accepted"]])
            created = r?.1 ?? [:]
            return r?.0 == 201
        }, "\(created)")
        let id = try #require(created["id"] as? String)

        // Event load: 4 retrying SMTP clients over all three nodes.
        let targets = nodes.map { n -> [Any] in let a = n.address("submission"); return [a.0, a.1] }
        let progress = dir + "/progress", results = dir + "/results.json"
        let targetsJSON = String(decoding: try JSONSerialization.data(withJSONObject: targets), as: UTF8.self)
        let load = try ChildProcess("/usr/bin/python3", ["-c", ClusterRaftTests.client, targetsJSON, progress, results, "4", "60"],
                                    stderrPath: dir + "/client.err")
        // Once calls flow, kill the node sending them (the attempts say which).
        #expect(ClusterRaftTests.waitFor(60) { receiver.events.count >= 40 })
        // (The POSTs' results are committed a moment after the receiver has them.)
        var attempts: [[String: Any]] = []
        #expect(ClusterRaftTests.waitFor(30) {
            attempts = (try? nodes[0].adminJSON("/v1/webhooks/\(id)/attempts?limit=1"))?["attempts"] as? [[String: Any]] ?? []
            return !attempts.isEmpty
        })
        let owner = try #require(attempts.first?["node"] as? String)
        let victim = try #require(nodes.firstIndex { ($0.config["node"] as? [String: Any])?["id"] as? String == owner })
        nodes[victim].kill9()
        let survivor = nodes[(victim + 1) % 3]
        #expect(load.wait(timeout: 300) == 0)
        let outcome = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: results))) as? [String: Any])
        let accepted = Set((outcome["accepted"] as? [[String: Any]] ?? []).compactMap { $0["queueId"] as? String })
        #expect(accepted.count == 240, "\(outcome["failures"] ?? "")")

        // Every accepted event is delivered (a message committed while its client lost the
        // connection is accepted too, without a 250: there may be more events than 250s).
        #expect(ClusterRaftTests.waitFor(90) {
            let h = try? survivor.adminJSON("/v1/webhooks/\(id)")
            return h?["pending"] as? Int == 0 && (h?["delivered"] as? Int ?? 0) >= accepted.count
        }, "\((try? survivor.adminJSON("/v1/webhooks/\(id)")) ?? [:])")
        let delivered = try survivor.adminJSON("/v1/webhooks/\(id)")["delivered"] as? Int ?? 0
        let events = try survivor.events("type=accepted&limit=10000")
        let received = receiver.events
        let ok = received.filter { $0.status == 200 }
        var queueByID: [String: String] = [:]
        for e in ok {
            let queueID = e.body["queueId"] as? String ?? ""
            #expect(queueByID[e.eventID] == nil || queueByID[e.eventID] == queueID, "one webhook-id, one event")
            queueByID[e.eventID] = queueID
        }
        // An event sent twice (the dead node's POSTs in flight, sent again by the survivor) went
        // in the same batch, under the same webhook-id, both times.
        for (eventID, sends) in Dictionary(grouping: received, by: \.eventID) {
            #expect(Set(sends.map(\.postID)).count == 1, "\(eventID) sent under \(Set(sends.map(\.postID)))")
        }
        let okPosts = receiver.requests.filter { $0["status"] as? Int == 200 }.compactMap { $0["id"] as? String }
        #expect(accepted.isSubset(of: Set(queueByID.values)), "every 250'd message's event arrived")
        #expect(Set(queueByID.values) == Set(events.compactMap { $0["queueId"] as? String }),
                "exactly the accepted events of the cluster arrived")
        #expect(queueByID.count == delivered)
        let duplicates = ok.count - queueByID.count
        let duplicatePosts = okPosts.count - Set(okPosts).count
        print("webhook cluster kill: \(accepted.count) events, \(ok.count) acknowledged in \(okPosts.count) POSTs, "
              + "\(duplicates) duplicate events in \(duplicatePosts) duplicate POSTs (same webhook-id), killed \(owner)")
        #expect(duplicatePosts <= 4, "only POSTs in flight (concurrency 4) are sent twice: \(duplicatePosts)")
        #expect(try receiver.verify(secrets: [created["secret"] as! String]).count
                == Set(receiver.requests.compactMap { $0["id"] as? String }).count, "every POST signed")
    }
}
