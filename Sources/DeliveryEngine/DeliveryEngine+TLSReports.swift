import DeliveryCore

extension DeliveryEngine {
    /// The RFC 8460 aggregate TLS report of recipient `domain` for the UTC days overlapping
    /// `[since, until)` (seconds since the epoch), from this node's in-memory outcomes of MX
    /// sessions; nil when MTA-STS is disabled (`delivery.mtaSts.enabled`) or no resolver is
    /// configured. `organization-name` and `contact-info` come from `delivery.mtaSts`. Never
    /// blocks for long; any thread.
    public func tlsReport(domain: String, since: Double, until: Double) -> TLSReport? {
        guard let service = coordinator.mtaSTS else { return nil }
        let settings = coordinator.config.delivery.mtaSts
        let hostname = coordinator.hostname
        let first = TLSReportLog.timestamp(since).prefix(10)
        let last = TLSReportLog.timestamp(max(since, until - 1)).prefix(10)
        return service.report(domain: domain.lowercased(), since: since, until: until,
                              organization: settings.reportOrganization ?? hostname,
                              contact: settings.reportContact ?? "postmaster@\(hostname)",
                              reportID: "\(first)_\(last)_\(domain.lowercased())@\(hostname)")
    }

    /// True when this engine applies MTA-STS and keeps TLS report data. Any thread.
    public var tlsReportsAvailable: Bool { coordinator.mtaSTS != nil }

    /// Recipient domains with TLS outcomes in the UTC days overlapping `[since, until)`; empty
    /// when MTA-STS is disabled. Any thread.
    public func tlsReportDomains(since: Double, until: Double) -> [String] {
        coordinator.mtaSTS?.reportDomains(since: since, until: until) ?? []
    }

    /// The cached (unexpired) MTA-STS policy of `domain` with its TXT `id` and expiry (seconds),
    /// nil when none. Any thread.
    public func mtaSTSPolicy(for domain: String) -> (id: String, policy: MTASTSPolicy, expiresAt: Double)? {
        guard let entry = coordinator.mtaSTS?.cachedPolicy(domain) else { return nil }
        return (entry.id, entry.policy, entry.expiresAt)
    }
}
