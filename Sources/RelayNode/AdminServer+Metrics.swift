import ClusterLog
import HTTPCore
import NetworkIO
import RelayConfig
import SendarixSupport
import SpoolStore
import Synchronization

extension AdminServer {
    /// `GET /metrics`: the Prometheus text exposition of the node (counters from
    /// ``NodeMetrics/shared``, gauges read now from the store, the delivery engine, Raft, the DNS
    /// responder and the body-memory budget). Any admin token or `metricsToken` may read it;
    /// nil for other paths. Runs on the admin loop: every read here is a short LMDB read
    /// transaction or an atomic load.
    func metricsResponse(for request: HTTPRequest, keepAlive: Bool) -> [UInt8]? {
        guard request.method == "GET" || request.method == "HEAD", String(request.path) == "/metrics" else { return nil }
        guard role(request) != nil || presentsMetricsToken(request) else {
            return AdminServer.response(401, json: ["error": "missing or wrong bearer token"], keepAlive: keepAlive,
                                        extra: [("WWW-Authenticate", "Bearer")])
        }
        var out = PrometheusText()
        renderMetrics(into: &out)
        return AdminServer.response(200, body: Array(out.text.utf8), contentType: PrometheusText.contentType,
                                    keepAlive: keepAlive)
    }

    private func presentsMetricsToken(_ request: HTTPRequest) -> Bool {
        guard let t = config.metricsToken, !t.isEmpty,
              let value = request.headers.values("Authorization").first, value.hasPrefix("Bearer ") else { return false }
        return PasswordHasher.constantTimeEqual(Array(value.dropFirst(7).utf8), Array(t.utf8))
    }

    func renderMetrics(into out: inout PrometheusText) {
        NodeMetrics.shared.render(into: &out)
        let now = WallClock.nowMillis()
        if let depth = try? store.queueCount() {
            out.gauge("sendarix_queue_messages", "Messages in the spool (queued, deferred or being delivered).", Double(depth))
        }
        if let oldest = try? store.oldestQueuedReceivedAt() {
            out.gauge("sendarix_queue_oldest_message_age_seconds", "Age of the oldest message in the spool, seconds.",
                      Double(max(0, now - oldest)) / 1000)
        } else {
            out.gauge("sendarix_queue_oldest_message_age_seconds", "Age of the oldest message in the spool, seconds.", 0)
        }
        if let delivery {
            out.gauge("sendarix_deliveries_in_flight", "Delivery attempts in progress on this node.",
                      Double(delivery.statistics.inFlight))
            let parking = delivery.parkingStatistics
            out.gauge("sendarix_deliveries_parked", "Due messages left unclaimed because their destination is down.",
                      Double(parking.parked))
            out.counter("sendarix_deliveries_parked_total", "Times a due message was parked instead of attempted.",
                        Double(parking.parkedTotal))
            out.counter("sendarix_deliveries_postponed_total",
                        "Due messages of a down destination postponed durably in batches (parking was full).",
                        Double(delivery.postponeStatistics.postponed))
            let recovery = delivery.recoveryStatistics
            out.counter("sendarix_deliveries_pulled_total",
                        "Postponed messages pulled forward when their destination came back.", Double(recovery.pulled))
            out.counter("sendarix_deliveries_fresh_first_total",
                        "Messages received after their destination came back, claimed ahead of its backlog.",
                        Double(recovery.freshClaimed))
        }
        out.counter("sendarix_lmdb_map_grown_total", "Times the spool's LMDB map grew by itself.", Double(store.mapGrowthCount))
        out.family("sendarix_tls_handshakes_total", "counter", "Completed TLS handshakes by side and protocol version.")
        for s in TLSHandshakeStats.snapshot() {
            out.sample("sendarix_tls_handshakes_total", ["side": s.side, "version": s.version], Double(s.count))
        }
        if let raft {
            let st = raft.status()
            out.gauge("sendarix_raft_term", "Current Raft term.", Double(st.term))
            out.gauge("sendarix_raft_commit_index", "Highest Raft log index known committed.", Double(st.commit))
            out.gauge("sendarix_raft_applied_index", "Highest Raft log index applied to the spool.", Double(st.applied))
            out.gauge("sendarix_raft_apply_lag_entries", "Committed entries not yet applied.",
                      Double(st.commit >= st.applied ? st.commit - st.applied : 0))
            out.gauge("sendarix_raft_is_leader", "1 when this node leads the cluster.", st.role == "leader" ? 1 : 0)
            out.counter("sendarix_raft_leader_changes_total", "Times this node saw a new leader.",
                        Double(RaftLog.leaderChanges.load(ordering: .relaxed)))
            RelayNode.raftMapMetrics(raft, into: &out)
        }
        if let answered = dnsQueriesAnswered {
            out.counter("sendarix_dns_queries_answered_total", "DNS queries answered by the authoritative responder.",
                        Double(answered()))
        }
        if let usage = try? store.spaceUsage() {
            out.gauge("sendarix_lmdb_map_size_bytes", "Spool LMDB map size (most it can hold), bytes.", Double(usage.mapSize))
            out.gauge("sendarix_lmdb_map_used_bytes", "Spool LMDB pages in use, bytes.", Double(usage.used))
        }
        if let bodyBudget {
            out.gauge("sendarix_body_memory_bytes", "Memory held by message bodies being received, bytes.",
                      Double(bodyBudget.inUse))
            out.gauge("sendarix_body_memory_limit_bytes", "Limit on memory for bodies being received, bytes.",
                      Double(bodyBudget.limit))
        }
    }
}
