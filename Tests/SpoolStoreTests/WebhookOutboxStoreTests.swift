import Foundation
import Registry
import Testing
@testable import SpoolStore

/// The webhook outbox in the spool: recording an event writes one pending call per matching
/// endpoint in the same transaction; deleting an endpoint drops its outbox; retention prunes
/// finished calls but never pending ones.
@Suite("Webhook outbox in the spool")
struct WebhookOutboxStoreTests {
    static let t0: Int64 = 1_700_000_000_000
    static let secret = "whsec_" + Data(repeating: 1, count: 32).base64EncodedString()

    @Test("Events become pending calls for matching endpoints; delivered calls are pruned with events, pending ones stay")
    func outboxLifecycle() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        defer { log.stop() }
        let endpoint = WebhookEndpoint(id: "ep_a", tenant: "acme", url: "https://h.example/", events: ["accepted"],
                                       secret: Self.secret, createdAt: Self.t0)
        _ = try await log.proposeAndWait(.registry(.webhook(.create(endpoint)))).get()
        var other = endpoint
        other.id = "ep_b"
        other.tenant = "globex"
        _ = try await log.proposeAndWait(.registry(.webhook(.create(other)))).get()
        var m1 = makeEnqueue("M1", recipients: ["a@x.test", "b@x.test"], sender: "s@acme.test", at: Self.t0)
        if case .enqueue(var e) = m1 { e.tenant = "acme"; m1 = .enqueue(e) }
        let index = try await log.proposeAndWait(m1).get()
        let pending = try store.pendingWebhookCalls("ep_a", limit: 10)
        #expect(pending.map(\.webhookID) == ["msg_\(index)_0", "msg_\(index)_1"])
        #expect(pending.allSatisfy {
            let body = SpoolStore.webhookBody($0)
            return body.contains("\"queueId\":\"M1\"") && body.hasSuffix(",\"sequence\":\($0.sequence)}")
        })
        #expect(try store.pendingWebhookCalls("ep_b", limit: 10).isEmpty, "another tenant's endpoint gets nothing")

        // Deliver the first call, then prune everything older than now: the delivered call goes, the pending one stays.
        let seq = try #require(pending.first).sequence
        _ = try await log.proposeAndWait(.registry(.webhook(.claim(.init(endpoint: "ep_a", sequences: [seq], owner: "n1",
                                                                            incarnation: 1, issuedAt: Self.t0, expiresAt: Self.t0 + 10))))).get()
        let attempt = WebhookCall.Attempt(attempt: 1, at: Self.t0 + 1, status: 200, latencyMillis: 1, response: "", node: "n1")
        _ = try await log.proposeAndWait(.registry(.webhook(.results(.init(endpoint: "ep_a", owner: "n1", incarnation: 1,
                                                                           results: [.init(sequence: seq, attempt: attempt, verdict: .delivered)]))))).get()
        var stats = try store.webhookStats()
        #expect(stats.endpoints.first { $0.id == "ep_a" }.map { ($0.pending, $0.delivered) } ?? (0, 0) == (1, 1))
        _ = try await log.proposeAndWait(.pruneEvents(.init(before: Self.t0 + 1))).get()
        stats = try store.webhookStats()
        #expect(stats.endpoints.first { $0.id == "ep_a" }.map { ($0.pending, $0.delivered) } ?? (0, 0) == (1, 0))
        #expect(stats.backlog == 1 && stats.failed == 0)

        _ = try await log.proposeAndWait(.registry(.webhook(.delete(id: "ep_a", at: Self.t0 + 5)))).get()
        #expect(try store.pendingWebhookCalls("ep_a", limit: 10).isEmpty)
        #expect(try store.webhookEndpoints().map(\.id) == ["ep_b"])
    }
}
