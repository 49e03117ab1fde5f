import Foundation
import Testing
import TestSupport

extension WebhookTests {
    @Test("A batch formed per call at log entry format 4 and failed, then batchMaxEvents 1 and a restart at format 5: the batch is still sent whole under its id, and later events go alone")
    func formatFourBatchGoesOnAtFormatFive() throws {
        let host = "127.84.0.1"
        let receiver = try WebhookReceiver(host: host)
        defer { receiver.stop() }
        try receiver.setMode(503)
        try receiver.start()
        var webhooks = Self.fastWebhooks
        webhooks["allowedPrivateNetworks"] = ["127.84.0.0/16"]
        webhooks["retryScheduleMillis"] = Array(repeating: 300, count: 40)
        var env = ProcessInfo.processInfo.environment
        env["SENDARIX_TEST_FORMAT_VERSION"] = "4"
        let old = try RelayProcess(overlay: ["webhooks": webhooks], environment: env)
        defer { old.cleanUp() }
        let (_, created) = try SendingDomainTests.request(old, "POST", "/v1/webhooks",
                                                          ["url": receiver.url, "tenant": "acme", "events": ["accepted"],
                                                           "concurrency": 1, "batchMaxEvents": 10])
        let id = try #require(created["id"] as? String)
        #expect(try SendingDomainTests.request(old, "POST", "/v1/webhooks/\(id)/pause", [:]).0 == 200)
        let queueIDs = try Self.submit(old, count: 10)
        #expect(try SendingDomainTests.request(old, "POST", "/v1/webhooks/\(id)/resume", [:]).0 == 200)
        #expect(Self.waitFor(30) { receiver.events.contains { $0.status == 503 } })
        let formedID = try #require(receiver.requests.first?["id"] as? String)
        #expect(formedID.hasPrefix("batch_") && receiver.events.filter { $0.postID == formedID }.count == 10)
        #expect(try SendingDomainTests.request(old, "PATCH", "/v1/webhooks/\(id)", ["batchMaxEvents": 1]).0 == 200)
        old.stop()

        // The same data at format 5: the formed batch is larger than one round's read of due calls.
        try receiver.setMode(200)
        let relay = try RelayProcess(overlay: ["webhooks": webhooks], dataDir: old.dataDir)
        defer { relay.stop() }
        #expect(Self.waitFor(60) { ((try? Self.hook(relay, id))?["delivered"] as? Int) == 10 }, "\((try? Self.hook(relay, id)) ?? [:])")
        let ok = receiver.events.filter { $0.status == 200 }
        #expect(Set(ok.map(\.eventID)) == (try Self.expectedIDs(relay, queueIDs: queueIDs)) && ok.count == 10)
        #expect(Set(ok.map(\.postID)) == [formedID], "sent as the batch it was: \(Set(ok.map(\.postID)))")
        _ = try Self.submit(relay, count: 2, localPart: "later")
        #expect(Self.waitFor(30) { ((try? Self.hook(relay, id))?["delivered"] as? Int) == 12 })
        let later = receiver.events.filter { $0.status == 200 && $0.postID != formedID }
        #expect(later.count == 2 && Set(later.map(\.postID)).count == 2, "one event per POST")
    }
}
