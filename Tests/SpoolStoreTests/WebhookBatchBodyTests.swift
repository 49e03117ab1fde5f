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
}
