import SendarixSupport
import SpoolStore

extension RelayNode {
    /// Adds the webhook outbox and the limits layer to `/metrics` (`NodeMetrics.shared`). Called once
    /// per process by `start`; collectors run on the admin loop at scrape time (the webhook figures
    /// read the store in one read transaction, O(endpoints): the spool keeps per-endpoint call counts).
    static func registerMetricCollectors(store: SpoolStore, sendingLimits: SendingLimiter?) {
        NodeMetrics.shared.addCollector { out in
            guard let w = try? WebhookMetrics.current(store) else { return }
            out.family("sendarix_webhook_backlog_calls", "gauge", "Webhook calls waiting to be sent (replicated outbox, all endpoints).")
            out.sample("sendarix_webhook_backlog_calls", [:], Double(w.backlog))
            out.family("sendarix_webhook_failed_calls", "gauge", "Webhook calls that used up the retry schedule, kept for a replay.")
            out.sample("sendarix_webhook_failed_calls", [:], Double(w.failedCalls))
            out.family("sendarix_webhook_unhealthy_endpoints", "gauge", "Webhook endpoints marked failing or disabled.")
            out.sample("sendarix_webhook_unhealthy_endpoints", [:], Double(w.unhealthyEndpoints))
            out.family("sendarix_webhook_attempts_failed_total", "counter", "Webhook attempts of this process without a 2xx answer.")
            out.sample("sendarix_webhook_attempts_failed_total", [:], Double(w.failedAttemptsTotal))
            out.family("sendarix_webhook_calls_delivered_total", "counter", "Webhook calls this process delivered.")
            out.sample("sendarix_webhook_calls_delivered_total", [:], Double(w.deliveredCallsTotal))
            // Per endpoint, capped so a tenant creating endpoints cannot grow the label set without bound.
            out.family("sendarix_webhook_endpoint_pending_calls", "gauge", "Webhook calls waiting per endpoint (first 50 endpoints).")
            for e in w.endpoints.sorted(by: { $0.id < $1.id }).prefix(50) {
                out.sample("sendarix_webhook_endpoint_pending_calls", ["endpoint": e.id, "status": e.status], Double(e.pending))
            }
        }
        guard let sendingLimits else { return }
        NodeMetrics.shared.addCollector { out in
            let m = sendingLimits.metrics
            out.family("sendarix_limit_refusals_total", "counter", "SMTP commands refused by sending limits or suspensions, by kind.")
            out.sample("sendarix_limit_refusals_total", ["kind": "connections"], Double(m.connectionsRefused))
            out.sample("sendarix_limit_refusals_total", ["kind": "rate"], Double(m.ratesRefused))
            out.sample("sendarix_limit_refusals_total", ["kind": "recipients"], Double(m.recipientsRefused))
            out.sample("sendarix_limit_refusals_total", ["kind": "suspended"], Double(m.suspendedRefused))
            out.family("sendarix_credential_alerts_total", "counter", "Compromised-credential alerts raised on this node.")
            out.sample("sendarix_credential_alerts_total", [:], Double(m.alerts))
            out.family("sendarix_credential_suspensions_total", "counter", "Credentials suspended automatically by this node.")
            out.sample("sendarix_credential_suspensions_total", [:], Double(m.suspensions))
        }
    }
}
