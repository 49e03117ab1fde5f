import Foundation
import Testing
import TestSupport
import Registry
@testable import RelayNode

extension WebhookTests {
    /// (log entry format, the endpoint's new batchMaxEvents) of `loweredBatchSizeKeepsFormedBatches`.
    static let loweredSizes: [(UInt8, Int)] = [(5, 1), (5, 2), (4, 1), (4, 2)]

    @Test("Lowering batchMaxEvents below a formed, failed batch: the batch is sent again whole with its id and events (formats 5 and 4)",
          arguments: loweredSizes)
    func loweredBatchSizeKeepsFormedBatches(format: UInt8, lowered: Int) throws {
        let host = "127.76.0.\(Int(format) * 10 + lowered)"
        let receiver = try WebhookReceiver(host: host)
        defer { receiver.stop() }
        try receiver.setMode(503)
        try receiver.start()
        var webhooks = Self.fastWebhooks
        webhooks["allowedPrivateNetworks"] = ["127.76.0.0/16"]
        webhooks["retryScheduleMillis"] = Array(repeating: 300, count: 40)
        var env = ProcessInfo.processInfo.environment
        env["SENDARIX_TEST_FORMAT_VERSION"] = String(format)
        let relay = try RelayProcess(overlay: ["webhooks": webhooks], environment: env)
        defer { relay.cleanUp() }
        let (_, created) = try SendingDomainTests.request(relay, "POST", "/v1/webhooks",
                                                          ["url": receiver.url, "tenant": "acme", "events": ["accepted"],
                                                           "concurrency": 1, "batchMaxEvents": 10])
        let id = try #require(created["id"] as? String)
        // Paused while the events are recorded, so that all ten are due together: one batch of ten.
        #expect(try SendingDomainTests.request(relay, "POST", "/v1/webhooks/\(id)/pause", [:]).0 == 200)
        let queueIDs = try Self.submit(relay, count: 10)
        #expect(try SendingDomainTests.request(relay, "POST", "/v1/webhooks/\(id)/resume", [:]).0 == 200)
        #expect(Self.waitFor(30) { receiver.events.contains { $0.status == 503 } })
        let formed = try #require(receiver.requests.first)
        let formedID = try #require(formed["id"] as? String)
        #expect(formedID.hasPrefix("batch_") && receiver.events.filter { $0.postID == formedID }.count == 10,
                "\(receiver.events.map(\.postID))")
        // The batch size goes down while the batch waits for its retry; then the receiver is back.
        let (status, _) = try SendingDomainTests.request(relay, "PATCH", "/v1/webhooks/\(id)", ["batchMaxEvents": lowered])
        #expect(status == 200)
        try receiver.setMode(200)
        #expect(Self.waitFor(60) { ((try? Self.hook(relay, id))?["delivered"] as? Int) == 10 }, "\((try? Self.hook(relay, id)) ?? [:])")

        let ok = receiver.events.filter { $0.status == 200 }
        #expect(Set(ok.map(\.eventID)) == (try Self.expectedIDs(relay, queueIDs: queueIDs)) && ok.count == 10,
                "every event acknowledged exactly once")
        #expect(Set(ok.map(\.postID)) == [formedID], "sent again as the batch it was, under its id: \(Set(ok.map(\.postID)))")
        #expect(Set(receiver.requests.map { $0["body"] as? String ?? "" }).count == 1, "with the same events on every try")
        #expect(try receiver.verify(secrets: [try #require(created["secret"] as? String)]).values.allSatisfy { $0.allSatisfy { $0 == 1 } })
        // Batches formed afterwards use the new size.
        _ = try Self.submit(relay, count: 3, localPart: "later")
        #expect(Self.waitFor(30) { ((try? Self.hook(relay, id))?["delivered"] as? Int) == 13 })
        let later = receiver.events.filter { $0.status == 200 && $0.postID != formedID }
        #expect(later.count == 3 && Dictionary(grouping: later, by: \.postID).values.allSatisfy { $0.count <= lowered })
    }
}
