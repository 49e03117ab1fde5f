import Foundation
import Registry
import Testing
@testable import SpoolStore

/// `/metrics` and `GET /v1/webhooks` read per-endpoint call counts from a tally kept as calls are
/// written, finished, replayed, pruned and deleted, instead of walking every stored call on each
/// scrape: the tally must always equal a full count.
@Suite("Webhook call tally")
struct WebhookTallyTests {
    static let t0 = WebhookDispatchStoreTests.t0

    /// The tally, the counts persisted in the spool and `webhookStats` all equal a walk over every
    /// stored call.
    static func expectMatchesFullCount(_ store: SpoolStore, _ what: String,
                                       sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: WebhookTally.Counts] {
        let full = try store.read { try store.countWebhookCalls(in: $0) }
        let persisted = try store.read { try store.persistedWebhookTally(in: $0) }
        #expect(persisted == full.filter { !$0.value.isZero }, "\(what): persisted counts", sourceLocation: sourceLocation)
        let stats = try store.webhookStats()
        for e in stats.endpoints {
            let n = full[e.id] ?? .init()
            #expect(store.webhookTally.counts(e.id) == n, "\(what): tally of \(e.id)", sourceLocation: sourceLocation)
            #expect((e.pending, e.failed, e.delivered) == (n.pending, n.failed, n.delivered), "\(what): stats of \(e.id)",
                    sourceLocation: sourceLocation)
        }
        return full
    }

    static func attempt(_ status: Int, at: Int64) -> WebhookCall.Attempt {
        .init(attempt: 1, at: at, status: status, latencyMillis: 1, response: "", node: "n1")
    }

    @Test("the counts stay equal to a full count across new calls, results, batch results, replay, retention, reopening and deleting an endpoint")
    func tallyFollowsEveryChange() async throws {
        let dir = TempDirectory()
        var store = try SpoolStore(directory: dir.path)
        var log = try LocalLog(store: store)
        for id in ["ep_a", "ep_b"] {
            _ = try await log.proposeAndWait(.registry(.webhook(.create(WebhookDispatchStoreTests.endpoint(id))))).get()
        }
        for i in 0..<6 { _ = try await log.proposeAndWait(makeEnqueue("Q\(i)", at: Self.t0)).get() }
        var full = try Self.expectMatchesFullCount(store, "after new calls")
        #expect(full["ep_a"] == .init(pending: 6) && full["ep_b"] == .init(pending: 6))

        // Per-call lease and results on ep_a: delivered, failed for good, retried.
        let now = Self.t0 + 10
        let a = try store.pendingWebhookCalls("ep_a", limit: 10).map(\.sequence)
        _ = try await log.proposeAndWait(.registry(.webhook(.claim(.init(endpoint: "ep_a", sequences: a, owner: "n1",
                                                                         incarnation: 1, issuedAt: now, expiresAt: now + 1000))))).get()
        _ = try await log.proposeAndWait(.registry(.webhook(.results(.init(endpoint: "ep_a", owner: "n1", incarnation: 1, results: [
            .init(sequence: a[0], attempt: Self.attempt(200, at: now), verdict: .delivered),
            .init(sequence: a[1], attempt: Self.attempt(200, at: now), verdict: .delivered),
            .init(sequence: a[2], attempt: Self.attempt(500, at: now), verdict: .exhausted),
            .init(sequence: a[3], attempt: Self.attempt(500, at: now), verdict: .retry(at: now + 5))]))))).get()
        full = try Self.expectMatchesFullCount(store, "after results")
        #expect(full["ep_a"] == .init(pending: 3, failed: 1, delivered: 2))

        // A batch lease and batch results on ep_b (batch records).
        let b = try store.pendingWebhookCalls("ep_b", limit: 10).map(\.sequence)
        _ = try await log.proposeAndWait(.registry(.webhook(.leaseBatches(.init(
            endpoint: "ep_b", owner: "n1", incarnation: 1, issuedAt: now, expiresAt: now + 1000, formed: [],
            fresh: Array(b[0..<3]), sizes: [3], array: true))))).get()
        _ = try await log.proposeAndWait(.registry(.webhook(.batchResults(.init(endpoint: "ep_b", owner: "n1", incarnation: 1, results: [
            .init(first: b[0], sequences: Array(b[0..<3]), attempt: Self.attempt(200, at: now), verdict: .delivered)]))))).get()
        full = try Self.expectMatchesFullCount(store, "after batch results")
        #expect(full["ep_b"] == .init(pending: 3, delivered: 3))

        // Replaying the failed call makes it pending again.
        _ = try await log.proposeAndWait(.registry(.webhook(.replay(endpoint: "ep_a", sequences: [a[2]], at: now + 1)))).get()
        full = try Self.expectMatchesFullCount(store, "after replay")
        #expect(full["ep_a"] == .init(pending: 4, delivered: 2))

        // Retention drops finished calls only.
        _ = try await log.proposeAndWait(.pruneEvents(.init(before: Self.t0 + 1))).get()
        full = try Self.expectMatchesFullCount(store, "after retention")
        #expect(full["ep_a"] == .init(pending: 4) && full["ep_b"] == .init(pending: 3))

        // Reopened, the spool loads the persisted counts: it does not walk the calls.
        log.stop()
        store.close()
        store = try SpoolStore(directory: dir.path)
        log = try LocalLog(store: store)
        defer { log.stop() }
        #expect(store.webhookTally.recounts == (0, 0), "the open loaded the counts")
        #expect(store.webhookTally.counts("ep_a") == .init(pending: 4))
        full = try Self.expectMatchesFullCount(store, "after reopening")

        // Deleting an endpoint drops its outbox and its counts.
        _ = try await log.proposeAndWait(.registry(.webhook(.delete(id: "ep_a", at: now + 2)))).get()
        full = try Self.expectMatchesFullCount(store, "after deleting ep_a")
        #expect(store.webhookTally.counts("ep_a") == .init() && full["ep_a"] == nil)
        #expect(store.webhookTally.counts("ep_b") == .init(pending: 3))
    }
}
