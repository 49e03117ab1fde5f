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

extension WebhookTests {
    @Test("A batch record formed at log entry format 5 and failed, then a restart at format 4: its events are not sent per call under new ids; back at format 5 the record goes under its id, each event acknowledged once")
    func batchRecordWaitsForFormatFive() throws {
        let receiver = try WebhookReceiver(host: "127.84.0.2")
        defer { receiver.stop() }
        try receiver.setMode(503)
        try receiver.start()
        var webhooks = Self.fastWebhooks
        webhooks["allowedPrivateNetworks"] = ["127.84.0.0/16"]
        webhooks["retryScheduleMillis"] = Array(repeating: 300, count: 40)
        let first = try RelayProcess(overlay: ["webhooks": webhooks])
        defer { first.cleanUp() }
        let (_, created) = try SendingDomainTests.request(first, "POST", "/v1/webhooks",
                                                          ["url": receiver.url, "tenant": "acme", "events": ["accepted"],
                                                           "concurrency": 1, "batchMaxEvents": 10])
        let id = try #require(created["id"] as? String)
        #expect(try SendingDomainTests.request(first, "POST", "/v1/webhooks/\(id)/pause", [:]).0 == 200)
        let queueIDs = try Self.submit(first, count: 5)
        #expect(try SendingDomainTests.request(first, "POST", "/v1/webhooks/\(id)/resume", [:]).0 == 200)
        #expect(Self.waitFor(30) { receiver.events.contains { $0.status == 503 } })
        let recordID = try #require(receiver.requests.first?["id"] as? String)
        first.stop()

        // At format 4 the dispatcher leases per call: a later event goes, the record's events wait.
        try receiver.setMode(200)
        var env = ProcessInfo.processInfo.environment
        env["SENDARIX_TEST_FORMAT_VERSION"] = "4"
        let old = try RelayProcess(overlay: ["webhooks": webhooks], dataDir: first.dataDir, environment: env)
        defer { old.stop() }
        let later = try Self.submit(old, count: 1, localPart: "later")
        #expect(Self.waitFor(30) { ((try? Self.hook(old, id))?["delivered"] as? Int) == 1 }, "\((try? Self.hook(old, id)) ?? [:])")
        let recordEvents = try Self.expectedIDs(old, queueIDs: queueIDs)
        #expect(receiver.events.filter { $0.status == 200 && recordEvents.contains($0.eventID) }.isEmpty,
                "the record's events were sent per call: \(receiver.events.map(\.postID))")
        old.stop()

        let relay = try RelayProcess(overlay: ["webhooks": webhooks], dataDir: first.dataDir)
        defer { relay.stop() }
        #expect(Self.waitFor(60) { ((try? Self.hook(relay, id))?["delivered"] as? Int) == 6 }, "\((try? Self.hook(relay, id)) ?? [:])")
        let ok = receiver.events.filter { $0.status == 200 && recordEvents.contains($0.eventID) }
        #expect(Set(ok.map(\.eventID)) == recordEvents && ok.count == 5 && Set(ok.map(\.postID)) == [recordID],
                "sent once, as the record: \(ok.map(\.postID))")
        let laterIDs = try Self.expectedIDs(relay, queueIDs: later)
        #expect(receiver.events.filter { $0.status == 200 && laterIDs.contains($0.eventID) }.count == 1)
    }
}
