import Foundation
import Testing
import TestSupport

/// In a cluster each destination is delivered by one member (rendezvous over the live members),
/// which is often not the member that accepted the message. Three real nodes on 127.98.0.1-3
/// deliver to smtp-sink with the scheduler's idle poll set to an hour (`SENDARIX_IDLE_POLL_SECONDS`),
/// so only a wake can start a delivery.
@Suite("Cluster delivery wakes the destination's owner", .serialized)
struct ClusterDeliveryWakeTests {
    static let ips = ["127.98.0.1", "127.98.0.2", "127.98.0.3"]

    @Test("with the cluster idle, one message accepted by each member in turn is delivered: the owner is woken by mail another member accepted, not by its idle poll")
    func ownerWokenByOtherMembersMail() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-wake-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sink = try SinkProcess(counting: true, host: "127.98.0.10")
        defer { sink.stop() }
        var environment = ProcessInfo.processInfo.environment
        environment["SENDARIX_IDLE_POLL_SECONDS"] = "3600"
        let nodes = try ClusterRaftTests.startCluster(dir, ips: Self.ips, extra: [
            "delivery": ["enabled": true],
            "routes": [["domain": "wake.test", "hosts": ["127.98.0.10:\(sink.port)"], "tls": "none"]],
        ], environment: environment)
        defer { nodes.forEach { $0.cleanUp() } }
        // Every member knows the live set (else nobody owns the destination yet).
        let ready = ClusterRaftTests.waitFor(60) {
            nodes.allSatisfy { n in ((try? n.adminJSON("/v1/cluster/status"))?["live"] as? [Any])?.count == 3 }
        }
        #expect(ready, "no member saw three live members")
        for (i, node) in nodes.enumerated() {
            let out = try python(ObservabilityTests.send, [Self.ips[i], String(node.port("submission")), "r\(i)@wake.test"])
            #expect(out.status == 0, "\(out.stderr)")
            // 25 s: shorter than the default idle poll (30 s), so a poll cannot stand in for the
            // wake even if the hour-long setting were not read; a woken owner takes well under 1 s.
            let delivered = ClusterRaftTests.waitFor(25) { (sink.messagesReceived ?? 0) >= i + 1 }
            #expect(delivered, "the message accepted by n\(i + 1) was not delivered within 25 s (the sink has \(sink.messagesReceived ?? 0))")
            guard delivered else { return }
        }
        #expect(sink.messagesReceived == 3)
    }
}
