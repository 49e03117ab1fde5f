import DeliveryCore
import SpoolStore

/// The recipients of one message attempt that share a domain, sent as one SMTP transaction over
/// the domain's route: tracks which host/address candidate is being tried (failover), retries on
/// a stale pooled connection, and the last connection-level failure.
///
/// Confined to the delivery scheduler's queue.
final class DeliveryJob: @unchecked Sendable {
    // Safe: used only on the scheduler queue; closures merely carry it back there.
    /// One host address to try.
    struct Candidate {
        var host: DeliveryRoute.Host
        var address: String
    }

    let attempt: MessageAttempt
    let domain: String
    var transaction: SMTPClientSession.Transaction
    var route: DeliveryRoute?
    var candidates: [Candidate] = []
    var candidateIndex = 0
    var staleRetries = 0
    /// The breaker key of the host whose half-open probe this job's current attempt took (nil:
    /// none): a pooled connection found closed gives that slot back (`CircuitBreaker.releaseProbe`).
    var probeHost: String?
    /// Host keys (`name:port`) to contact without STARTTLS after an opportunistic TLS failure.
    var plaintextHosts: Set<String> = []
    /// The last connection-level failure (reply, remote host, class of a locally detected
    /// failure), used when every host failed.
    var lastFailure: (reply: SMTPReply, remoteHost: String, localClass: BounceClass?, stage: SMTPClientSession.Stage?)?
    /// A real connection or transaction failed on some address in this attempt: what follows is
    /// failover traffic (which cold source addresses never carry). Skipped candidates do not count.
    var failedOver = false
    /// When the job started (for logs).
    let startedAt: Int64

    init(attempt: MessageAttempt, domain: String, transaction: SMTPClientSession.Transaction, startedAt: Int64) {
        self.attempt = attempt
        self.domain = domain
        self.transaction = transaction
        self.startedAt = startedAt
    }

    /// Fills `candidates` from `route`: every address of every host, in order.
    func use(_ route: DeliveryRoute) {
        self.route = route
        candidates = route.hosts.flatMap { host in host.addresses.map { Candidate(host: host, address: $0) } }
        candidateIndex = 0
    }
}
