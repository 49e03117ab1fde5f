import Foundation
import Testing
import TestSupport
import Registry
@testable import RelayNode

extension WebhookTests {
    @Test("Events that pile up go as signed batches; under 429 Retry-After a batch is resent after the wait with the same id and events")
    func batchesRetryAfter() throws {
        let receiver = try WebhookReceiver(host: "127.70.0.8")
        defer { receiver.stop() }
        try receiver.setMode(429, retryAfter: 2)
        try receiver.start()
        var webhooks = Self.fastWebhooks
        webhooks["allowedPrivateNetworks"] = ["127.70.0.0/16"]
        let relay = try RelayProcess(overlay: ["webhooks": webhooks])
        defer { relay.cleanUp() }
        let (_, created) = try SendingDomainTests.request(relay, "POST", "/v1/webhooks",
                                                          ["url": receiver.url, "tenant": "acme", "events": ["accepted"],
                                                           "concurrency": 1])
        let id = try #require(created["id"] as? String)
        let secret = try #require(created["secret"] as? String)
        let queueIDs = try Self.submit(relay, count: 20)
        // Refused with Retry-After until some batch was sent again.
        #expect(Self.waitFor(60) { Dictionary(grouping: receiver.requests, by: { $0["id"] as? String ?? "" }).values.contains { $0.count >= 2 } })
        try receiver.setMode(200)
        #expect(Self.waitFor(60) { ((try? Self.hook(relay, id))?["delivered"] as? Int) == 20 }, "\((try? Self.hook(relay, id)) ?? [:])")

        let requests = receiver.requests
        #expect(try receiver.verify(secrets: [secret]).values.allSatisfy { $0.allSatisfy { $0 == 1 } },
                "every POST, batch or not, carries a valid Standard Webhooks signature over its body")
        // A batch keeps its id and its events on every retry; the next try waits for Retry-After.
        for (postID, sends) in Dictionary(grouping: requests, by: { $0["id"] as? String ?? "" }) {
            #expect(Set(sends.compactMap { $0["body"] as? String }).count == 1, "\(postID) resent with other events")
            let times = sends.compactMap { Int($0["timestamp"] as? String ?? "") }
            for (a, b) in zip(times, times.dropFirst()) {
                #expect(b - a >= 1, "\(postID) retried \(b - a) s after a 429 with Retry-After: 2")
            }
        }
        let events = receiver.events
        let ok = events.filter { $0.status == 200 }
        let expected = try Self.expectedIDs(relay, queueIDs: queueIDs)
        #expect(ok.count == 20 && Set(ok.map(\.eventID)) == expected, "every event acknowledged exactly once")
        #expect(Dictionary(grouping: ok, by: \.postID).values.contains { $0.count > 1 }, "events that waited went together")
        // The attempts view names each event's batch: the POST's webhook-id.
        let attempts = try relay.adminJSON("/v1/webhooks/\(id)/attempts?limit=1000")["attempts"] as? [[String: Any]] ?? []
        let batchOf = Dictionary(ok.map { ($0.eventID, $0.postID) }, uniquingKeysWith: { a, _ in a })
        let delivered = attempts.filter { $0["status"] as? Int == 200 }
        #expect(delivered.count == 20)
        #expect(delivered.allSatisfy { ($0["batchId"] as? String ?? ($0["webhookId"] as? String)) == batchOf[$0["webhookId"] as? String ?? ""] },
                "\(delivered.prefix(3))")
        for r in requests {
            let list = try JSONSerialization.jsonObject(with: Data((r["body"] as? String ?? "").utf8)) as? [[String: Any]] ?? []
            #expect(!list.isEmpty, "a batch body is a JSON array")
            guard list.count > 1 else { continue }
            #expect((r["id"] as? String ?? "").hasPrefix("batch_"))
            let sequences = list.compactMap { $0["sequence"] as? Int }
            #expect(sequences == sequences.sorted() && Set(list.compactMap { $0["webhookId"] as? String }).count == list.count)
        }

    }
}

extension WebhookTests {
    static func call(_ seq: UInt64, attempts: UInt32 = 0, batch: WebhookCall.Batch? = nil) -> WebhookCall {
        var c = WebhookCall(endpoint: "e", sequence: seq, webhookID: "msg_\(seq)_0", eventType: "accepted", createdAt: 0, payload: "{}")
        c.attempts = attempts
        c.batch = batch
        return c
    }

    @Test("Due calls become POSTs: formed batches whole and as they were, fresh calls in batches of maxEvents, retried lone calls alone")
    func dueCallsToPosts() {
        let b = WebhookCall.Batch(id: "batch_x", size: 2)
        let partial = WebhookCall.Batch(id: "batch_y", size: 3)
        let due = [Self.call(1, attempts: 2), Self.call(2), Self.call(3, attempts: 1, batch: b), Self.call(4), Self.call(5),
                   Self.call(6, attempts: 1, batch: b), Self.call(7, attempts: 1, batch: partial), Self.call(8)]
        let posts = WebhookDispatcher.batches(due, maxEvents: 2, limit: 100, posts: 10)
        #expect(posts.map { $0.map(\.sequence) } == [[1], [2, 4], [3, 6], [5, 8]], "batch_y is not all due: left out")
        #expect(WebhookDispatcher.batches(due, maxEvents: 2, limit: 100, posts: 2).count == 2)
        #expect(WebhookDispatcher.batches(due, maxEvents: 2, limit: 3, posts: 10).map { $0.map(\.sequence) } == [[1], [2, 4]])
        #expect(WebhookDispatcher.batches(due, maxEvents: 100, limit: 100, posts: 10).map { $0.map(\.sequence) }
                == [[1], [2, 4, 5, 8], [3, 6]])
    }
}

extension WebhookTests {
    @Test("With webhooks.batch.maxDelayMillis due calls wait for their batch only while a POST is in flight, and at most that long")
    func batchDeadline() {
        typealias D = WebhookDispatcher
        #expect(D.batchDeadline(oldest: 1_000, due: 3, inFlight: true, maxEvents: 100, maxDelay: 50, now: 1_010) == 1_050)
        #expect(D.batchDeadline(oldest: 1_000, due: 3, inFlight: false, maxEvents: 100, maxDelay: 50, now: 1_010) == nil,
                "an idle endpoint sends at once")
        #expect(D.batchDeadline(oldest: 1_000, due: 3, inFlight: true, maxEvents: 100, maxDelay: 50, now: 1_050) == nil, "waited enough")
        #expect(D.batchDeadline(oldest: 1_000, due: 100, inFlight: true, maxEvents: 100, maxDelay: 50, now: 1_010) == nil, "batch full")
        #expect(D.batchDeadline(oldest: 1_000, due: 3, inFlight: true, maxEvents: 100, maxDelay: 0, now: 1_010) == nil, "no delay set")
        #expect(D.batchDeadline(oldest: 1_000, due: 3, inFlight: true, maxEvents: 1, maxDelay: 50, now: 1_010) == nil, "no batches")
    }
}

extension WebhookClusterTests {
    @Test("A cluster with a member that predates batches (log entry format 3) sends every event alone, each exactly once")
    func mixedFormatSendsAlone() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-hook-mixed-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let receiver = try WebhookReceiver(host: "127.70.1.10")
        try receiver.start()
        var webhooks = WebhookTests.fastWebhooks
        webhooks["allowedPrivateNetworks"] = ["127.70.0.0/16"]
        let ips = ["127.70.1.1", "127.70.1.2", "127.70.1.3"]
        let secret = dir + "/cluster.key"
        try "raft-mixed-\(UUID().uuidString)".write(toFile: secret, atomically: true, encoding: .utf8)
        var nodes: [RelayProcess] = []
        defer {
            for n in nodes { n.cleanUp() }
            receiver.stop()
            try? FileManager.default.removeItem(atPath: dir)
        }
        for i in 0..<3 {
            let peers = (0..<3).filter { $0 != i }.map { j -> [String: Any] in ["id": "n\(j + 1)", "address": "\(ips[j]):7700"] }
            let overlay: [String: Any] = [
                "node": ["id": "n\(i + 1)"],
                "listen": ["peer": "\(ips[i]):7700", "submission": ["\(ips[i]):0"], "smtps": [], "relay": []],
                "cluster": ["peers": peers, "secretFile": secret], "webhooks": webhooks,
            ]
            // n3 reads log entries up to format 3 only, as the release before batches did.
            var env = ProcessInfo.processInfo.environment
            if i == 2 { env["SENDARIX_TEST_FORMAT_VERSION"] = "3" }
            nodes.append(try RelayProcess(overlay: overlay, environment: env))
        }
        #expect(ClusterRaftTests.waitFor(60) { ClusterRaftTests.leader(nodes) != nil })
        var created: [String: Any] = [:]
        #expect(ClusterRaftTests.waitFor(20) {
            let r = try? SendingDomainTests.request(nodes[0], "POST", "/v1/webhooks",
                                                    ["url": receiver.url, "tenant": "acme", "events": ["accepted"], "concurrency": 1])
            created = r?.1 ?? [:]
            return r?.0 == 201
        }, "\(created)")
        let id = try #require(created["id"] as? String)
        let queueIDs = try WebhookTests.submit(nodes[0], count: 20)
        #expect(ClusterRaftTests.waitFor(60) { ((try? nodes[0].adminJSON("/v1/webhooks/\(id)"))?["delivered"] as? Int) == 20 },
                "\((try? nodes[0].adminJSON("/v1/webhooks/\(id)")) ?? [:])")
        let requests = receiver.requests
        #expect(requests.allSatisfy { ($0["body"] as? String ?? "").hasPrefix("{") }, "JSON objects, no batches")
        let ids = requests.filter { $0["status"] as? Int == 200 }.compactMap { $0["id"] as? String }
        let expected = try WebhookTests.expectedIDs(nodes[0], queueIDs: queueIDs)
        #expect(ids.count == 20 && Set(ids) == expected)
        #expect(ids.allSatisfy { $0.hasPrefix("msg_") })
        #expect(nodes.allSatisfy { !$0.log().contains("newer than this build") }, "no node met an entry it cannot read")
    }
}
