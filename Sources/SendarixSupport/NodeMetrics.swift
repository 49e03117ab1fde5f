import Synchronization

/// The process's Prometheus counters that code on hot paths updates (accepts, delivery outcomes,
/// connections, store commits). Each update is one relaxed atomic add after a lock-free label
/// lookup (``MetricLabelSlots``): no lock per message. Tenants are capped at
/// ``tenantCapacity`` label values (later tenants count as `other`).
///
/// One node runs per process, so one shared instance (``shared``) serves it. Gauges read at
/// scrape time (queue depth, Raft, LMDB use) are not here: the admin server reads them from their
/// owners. Other subsystems add their own series through ``addCollector(_:)`` (the hook for
/// webhook backlog and failures). Any thread.
public final class NodeMetrics: Sendable {
    /// The process-wide instance.
    public static let shared = NodeMetrics()

    /// Tenants with their own label value; the rest are `other`.
    public static let tenantCapacity = 50

    /// Delivery outcomes counted per recipient.
    public enum Outcome: Int, Sendable, CaseIterable {
        case delivered, deferred, bounced, suppressed

        /// The metric name part.
        public var name: String {
            switch self {
            case .delivered: "delivered"
            case .deferred: "deferred"
            case .bounced: "bounced"
            case .suppressed: "suppressed"
            }
        }
    }

    public let tenants = MetricLabelSlots(capacity: NodeMetrics.tenantCapacity)
    public let providers = MetricLabelSlots(capacity: 32)
    public let listeners = MetricLabelSlots(capacity: 16)

    /// Messages accepted (queued) per tenant slot.
    public let acceptedMessages: [MetricCounter]
    /// Recipients of accepted messages per tenant slot.
    public let acceptedRecipients: [MetricCounter]
    /// Recipient outcomes: `[outcome][tenant slot][provider slot]`, flattened.
    let outcomes: [MetricCounter]
    /// Connections accepted per listener slot, and closed.
    public let connectionsOpened: [MetricCounter]
    public let connectionsClosed: [MetricCounter]
    /// Duration of the spool's LMDB write-transaction commits (write + fsync), seconds.
    public let spoolCommitSeconds = MetricHistogram(bounds: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                              0.1, 0.25, 0.5, 1, 2.5])
    private let collectors = Mutex<[@Sendable (inout PrometheusText) -> Void]>([])

    /// Creates an empty set (tests; the node uses ``shared``). Any thread.
    public init() {
        let t = tenants.slotCount, p = providers.slotCount, l = listeners.slotCount
        acceptedMessages = (0..<t).map { _ in MetricCounter() }
        acceptedRecipients = (0..<t).map { _ in MetricCounter() }
        outcomes = (0..<(Outcome.allCases.count * t * p)).map { _ in MetricCounter() }
        connectionsOpened = (0..<l).map { _ in MetricCounter() }
        connectionsClosed = (0..<l).map { _ in MetricCounter() }
    }

    /// Counts one accepted message with `recipients` recipients. Any thread; lock-free.
    @inline(__always)
    public func accepted(tenant: String, recipients: Int) {
        let s = tenants.slot(tenant)
        acceptedMessages[s].add()
        acceptedRecipients[s].add(UInt64(max(0, recipients)))
    }

    /// Counts one recipient's delivery outcome. Any thread; lock-free.
    public func outcome(_ o: Outcome, tenant: String, provider: String) {
        outcomes[index(o, tenants.slot(tenant), providers.slot(provider))].add()
    }

    /// The counter of an outcome for a tenant and provider slot.
    public func outcomeCounter(_ o: Outcome, tenantSlot: Int, providerSlot: Int) -> MetricCounter {
        outcomes[index(o, tenantSlot, providerSlot)]
    }

    private func index(_ o: Outcome, _ t: Int, _ p: Int) -> Int {
        (o.rawValue * tenants.slotCount + t) * providers.slotCount + p
    }

    /// Counts a connection accepted on a listener of kind `listener` (and later its close).
    public func connectionOpened(_ listener: String) { connectionsOpened[listeners.slot(listener)].add() }
    public func connectionClosed(_ listener: String) { connectionsClosed[listeners.slot(listener)].add() }

    /// Registers a function that appends more series to every scrape (for example the webhook
    /// dispatcher's `sendarix_webhook_backlog` and `sendarix_webhook_failures_total`). It runs on
    /// the admin loop during a scrape: it must be quick and must not block. Any thread.
    public func addCollector(_ collect: @escaping @Sendable (inout PrometheusText) -> Void) {
        collectors.withLock { $0.append(collect) }
    }

    /// Appends every counter of this set and of the registered collectors to `out`.
    public func render(into out: inout PrometheusText) {
        let tenantNames = tenants.labels(), providerNames = providers.labels(), listenerNames = listeners.labels()
        out.family("sendarix_messages_accepted_total", "counter", "Messages accepted and queued, by tenant.")
        for (s, name) in tenantNames.sorted(by: { $0.key < $1.key }) where acceptedMessages[s].count > 0 || s == 0 {
            out.sample("sendarix_messages_accepted_total", ["tenant": name], Double(acceptedMessages[s].count))
        }
        out.family("sendarix_recipients_accepted_total", "counter", "Recipients of accepted messages, by tenant.")
        for (s, name) in tenantNames.sorted(by: { $0.key < $1.key }) where acceptedRecipients[s].count > 0 || s == 0 {
            out.sample("sendarix_recipients_accepted_total", ["tenant": name], Double(acceptedRecipients[s].count))
        }
        for o in Outcome.allCases {
            let metric = "sendarix_recipients_\(o.name)_total"
            out.family(metric, "counter", "Recipients \(o.name) by this node's delivery attempts, by tenant and provider.")
            for (t, tenant) in tenantNames.sorted(by: { $0.key < $1.key }) {
                for (p, provider) in providerNames.sorted(by: { $0.key < $1.key }) {
                    let n = outcomes[index(o, t, p)].count
                    if n > 0 { out.sample(metric, ["tenant": tenant, "provider": provider], Double(n)) }
                }
            }
        }
        out.family("sendarix_connections_accepted_total", "counter", "Connections accepted, by listener.")
        for (s, name) in listenerNames.sorted(by: { $0.key < $1.key }) where s != 0 {
            out.sample("sendarix_connections_accepted_total", ["listener": name], Double(connectionsOpened[s].count))
        }
        out.family("sendarix_connections_open", "gauge", "Connections open now, by listener.")
        for (s, name) in listenerNames.sorted(by: { $0.key < $1.key }) where s != 0 {
            let open = connectionsOpened[s].count &- connectionsClosed[s].count
            out.sample("sendarix_connections_open", ["listener": name], Double(Int64(bitPattern: open)))
        }
        out.histogram("sendarix_spool_commit_duration_seconds",
                      "Spool LMDB write transaction commits (page writes and fsync), seconds.", spoolCommitSeconds)
        for collect in collectors.withLock({ $0 }) { collect(&out) }
    }
}
