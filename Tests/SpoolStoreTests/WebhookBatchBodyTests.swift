import Foundation
import Registry
import Testing
@testable import SpoolStore

/// The body of a batch: a JSON array of the events' bodies in sequence order, each with its own
/// `webhookId`, the same bytes on every attempt.
@Suite("Webhook batch bodies")
struct WebhookBatchBodyTests {
    @Test("A batch body is an array of the calls' bodies in sequence order, each with its own webhookId, the same bytes every time")
    func arrayInSequenceOrder() async throws {
        let (dir, store, log) = try await WebhookDispatchStoreTests.outbox()
        defer { log.stop(); _ = dir }
        for q in ["Q1", "Q2", "Q3"] {
            _ = try await log.proposeAndWait(makeEnqueue(q, recipients: ["r@x.test"], sender: "s@acme.test",
                                                         at: WebhookDispatchStoreTests.t0)).get()
        }
        let calls = try store.pendingWebhookCalls("ep_a", limit: 10)
        try #require(calls.count == 3)
        let body = SpoolStore.webhookBatchBody(calls.reversed())
        #expect(body == SpoolStore.webhookBatchBody(calls), "the same bytes whatever order the calls come in")
        let list = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]])
        #expect(list.map { $0["queueId"] as? String } == ["Q1", "Q2", "Q3"])
        #expect(list.map { $0["webhookId"] as? String } == calls.map(\.webhookID))
        #expect(list.map { ($0["sequence"] as? NSNumber)?.uint64Value } == calls.map(\.sequence))
        // Each element is the lone call's body with webhookId added last.
        let first = String(decoding: body, as: UTF8.self).dropFirst().prefix(while: { $0 != "}" }) + "}"
        #expect(String(first) == String(SpoolStore.webhookBody(calls[0]).dropLast()) + ",\"webhookId\":\"\(calls[0].webhookID)\"}")
    }

    @Test("JSON strings with escapes at the start, the end and side by side are written as JSONEncoder writes them")
    func escapedRuns() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let samples = ["", "plain", "/", "//", "/a/", "a//b", "\"\\\"", "\u{0}", "x\u{1F}\ny", "\t\r\u{8}\u{C}", "é/😀\\", "ends with \"",
                       "\u{7F}<>&'", String(repeating: "a/", count: 40)]
        for s in samples {
            var mine: [UInt8] = Array("{\"k\":".utf8)
            Event.appendJSONString(s, to: &mine)
            mine.append(UInt8(ascii: "}"))
            let expected = Array(try encoder.encode(["k": s]))
            #expect(String(decoding: mine, as: UTF8.self) == String(decoding: expected, as: UTF8.self), "\(s.debugDescription)")
        }
    }

    @Test("Calls of older builds (body rendered at accept time) and calls whose event record does not decode go in a batch as they go alone, with webhookId added")
    func olderAndUnreadableCallsInBatch() throws {
        let old = WebhookCall(endpoint: "ep_a", sequence: 5, webhookID: "msg_0_5", eventType: "accepted", createdAt: 1,
                              payload: "{\"id\":\"0-5\",\"type\":\"accepted\",\"sequence\":5}")
        var unreadable = WebhookCall(endpoint: "ep_a", sequence: 9, webhookID: "msg_0_9", eventType: "accepted", createdAt: 1,
                                     payload: "")
        unreadable.eventRecord = [0xFF, 0x00, 0x01]
        #expect(SpoolStore.webhookBody(old) == old.payload)
        #expect(SpoolStore.webhookBody(unreadable) == "{\"sequence\":9}")
        for c in [old, unreadable] { #expect(SpoolStore.webhookBodyBytes(c) == Array(SpoolStore.webhookBody(c).utf8)) }
        let body = String(decoding: SpoolStore.webhookBatchBody([unreadable, old]), as: UTF8.self)
        #expect(body == "[{\"id\":\"0-5\",\"type\":\"accepted\",\"sequence\":5,\"webhookId\":\"msg_0_5\"},"
                + "{\"sequence\":9,\"webhookId\":\"msg_0_9\"}]")
    }
}
