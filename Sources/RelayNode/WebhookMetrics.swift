import SpoolStore
import Synchronization

/// Webhook figures for `/metrics`: the replicated outbox's backlog and failures (the same on
/// every node) and this process's attempt counters. Any thread.
struct WebhookMetrics: Sendable, Equatable {
    /// Calls waiting to be sent, all endpoints.
    var backlog: Int
    /// Calls that used up the retry schedule (kept for a replay), all endpoints.
    var failedCalls: Int
    /// Endpoints marked failing or disabled.
    var unhealthyEndpoints: Int
    /// Per endpoint (id, tenant, status, pending, failed, delivered, oldest pending event time).
    var endpoints: [WebhookStats.Endpoint]
    /// Attempts of this process that got no 2xx, since start (a counter).
    var failedAttemptsTotal: Int
    /// Calls this process delivered, since start (a counter).
    var deliveredCallsTotal: Int

    /// Attempts without a 2xx since the process started.
    static let failedAttempts = Atomic<Int>(0)
    /// Calls delivered since the process started.
    static let deliveredCalls = Atomic<Int>(0)

    /// The current figures. Reads the store (one read transaction, O(endpoints)).
    static func current(_ store: SpoolStore) throws -> WebhookMetrics {
        let s = try store.webhookStats()
        return WebhookMetrics(backlog: s.backlog, failedCalls: s.failed, unhealthyEndpoints: s.unhealthyEndpoints,
                              endpoints: s.endpoints,
                              failedAttemptsTotal: failedAttempts.load(ordering: .relaxed),
                              deliveredCallsTotal: deliveredCalls.load(ordering: .relaxed))
    }
}
