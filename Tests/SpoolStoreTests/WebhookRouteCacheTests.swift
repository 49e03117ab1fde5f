import Foundation
import Registry
import Testing
@testable import SpoolStore

/// Recording an event uses the endpoint routes kept in memory; every command that changes an
/// endpoint moves the routes' version, so the next event sees the new list.
@Suite("Webhook endpoint routes cache")
struct WebhookRouteCacheTests {
    static let t0: Int64 = 1_700_000_000_000
    static let secret = "whsec_" + Data(repeating: 2, count: 32).base64EncodedString()

    /// Pending calls per endpoint for the events of queue id `q`.
    static func calls(_ store: SpoolStore, _ ids: [String], queueID q: String) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for id in ids {
            out[id] = try store.pendingWebhookCalls(id, limit: 1000).filter { SpoolStore.webhookBody($0).contains("\"queueId\":\"\(q)\"") }.count
        }
        return out
    }

    @Test("Adding, updating, pausing and deleting endpoints: the next event's calls follow the new list")
    func invalidation() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        defer { log.stop() }
        let ids = ["ep_a", "ep_b"]
        let a = WebhookEndpoint(id: "ep_a", tenant: "acme", url: "https://h.example/", events: ["accepted"],
                                secret: Self.secret, createdAt: Self.t0)
        var index = try await log.proposeAndWait(.registry(.webhook(.create(a)))).get()
        #expect(try store.read { try store.webhookRoutesVersion(in: $0) } == index + 1)
        _ = try await log.proposeAndWait(makeEnqueue("Q1", at: Self.t0)).get()
        #expect(try Self.calls(store, ids, queueID: "Q1") == ["ep_a": 1, "ep_b": 0])
        #expect(try store.webhookRoutes() == [a.route])

        // A new endpoint for every tenant and event: the next event has a call for it too.
        let b = WebhookEndpoint(id: "ep_b", tenant: "*", url: "https://h.example/b", secret: Self.secret, createdAt: Self.t0)
        index = try await log.proposeAndWait(.registry(.webhook(.create(b)))).get()
        #expect(try store.read { try store.webhookRoutesVersion(in: $0) } == index + 1)
        _ = try await log.proposeAndWait(makeEnqueue("Q2", at: Self.t0)).get()
        #expect(try Self.calls(store, ids, queueID: "Q2") == ["ep_a": 1, "ep_b": 1])

        // ep_a now wants only deliveries: no call for the next acceptance.
        _ = try await log.proposeAndWait(.registry(.webhook(.update(.init(id: "ep_a", events: ["delivered"], at: Self.t0))))).get()
        _ = try await log.proposeAndWait(makeEnqueue("Q3", at: Self.t0)).get()
        #expect(try Self.calls(store, ids, queueID: "Q3") == ["ep_a": 0, "ep_b": 1])

        // Paused (like disabled) endpoints keep recording; a deleted one gets nothing.
        _ = try await log.proposeAndWait(.registry(.webhook(.setPaused(id: "ep_b", paused: true, at: Self.t0)))).get()
        _ = try await log.proposeAndWait(makeEnqueue("Q4", at: Self.t0)).get()
        #expect(try Self.calls(store, ids, queueID: "Q4") == ["ep_a": 0, "ep_b": 1])
        _ = try await log.proposeAndWait(.registry(.webhook(.delete(id: "ep_b", at: Self.t0)))).get()
        _ = try await log.proposeAndWait(.registry(.webhook(.update(.init(id: "ep_a", events: [], at: Self.t0))))).get()
        _ = try await log.proposeAndWait(makeEnqueue("Q5", at: Self.t0)).get()
        #expect(try Self.calls(store, ids, queueID: "Q5") == ["ep_a": 1, "ep_b": 0])
        #expect(try store.webhookRoutes().map(\.id) == ["ep_a"])

        // Leases and results do not move the version (they change no route).
        let before = try store.read { try store.webhookRoutesVersion(in: $0) }
        let seq = try #require(try store.pendingWebhookCalls("ep_a", limit: 1).first).sequence
        _ = try await log.proposeAndWait(.registry(.webhook(.claim(.init(endpoint: "ep_a", sequences: [seq], owner: "n1", incarnation: 1,
                                                                         issuedAt: Self.t0, expiresAt: Self.t0 + 10))))).get()
        #expect(try store.read { try store.webhookRoutesVersion(in: $0) } == before)
    }

    @Test("Routes cached at one version are not returned for another; clearing forgets them")
    func cacheVersions() {
        let cache = WebhookRouteCache()
        let r = [WebhookRoute(id: "ep_a", tenant: "*", events: [])]
        #expect(cache.routes(at: 0) == nil)
        cache.store(r, at: 7)
        #expect(cache.routes(at: 7) == r)
        #expect(cache.routes(at: 8) == nil)
        #expect(cache.routes(at: 0) == nil)
        cache.clear()
        #expect(cache.routes(at: 7) == nil)
    }
}
