import DNSService
import RelayConfig
import DeliveryCore
import NetworkIO

extension DeliveryCoordinator {
    /// The MTA-STS service for `delivery.mtaSts` (nil when disabled or without a resolver).
    static func makeMTASTS(config: RelayConfig, resolver: DNSResolver?, loops: [EventLoop], context: TLSContext?,
                           options: DeliveryEngine.Options) -> MTASTSService? {
        let settings = config.delivery.mtaSts
        guard settings.enabled, let resolver else { return nil }
        let fetcher = MTASTSFetcher(resolver: resolver, loops: loops, context: context, port: options.mtaSTSPort,
                                    timeout: settings.fetchTimeoutSeconds)
        let clock = options.clock
        return MTASTSService(resolver: resolver, fetcher: fetcher, maxAgeCap: Double(settings.cacheMaxAgeSeconds),
                             clock: { Double(clock()) / 1000 })
    }

    /// Counts the TLS outcome of an MX session for TLS reports (RFC 8460). Under a `testing`
    /// policy a session to an MX host outside the policy's patterns counts as a validation failure.
    func recordTLSOutcome(_ report: SMTPClientConnection.Report, job: DeliveryJob, key: ConnectionPool.Key) {
        guard let mtaSTS, let route = job.route, !route.isStatic, let outcome = report.tls else { return }
        let policy = route.mtaSTS
        if let policy, !policy.allows(mxHost: key.hostName) {
            mtaSTS.recordFailure(domain: job.domain, policy: policy, failure: TLSReportLog.Failure(
                .validationFailure, sendingIP: key.source, mxHost: key.hostName, receivingIP: key.address,
                information: "MX host not listed in the MTA-STS policy"))
            return
        }
        switch outcome {
        case .success:
            mtaSTS.recordSuccess(domain: job.domain, policy: policy)
        case .failure(let type, let code):
            mtaSTS.recordFailure(domain: job.domain, policy: policy, failure: TLSReportLog.Failure(
                type, sendingIP: key.source, mxHost: key.hostName, receivingIP: key.address, reasonCode: code))
        }
    }

    /// Under an enforced MTA-STS policy, a TLS failure becomes `451 4.7.5 MTA-STS policy of <domain>
    /// requires …` (retried later); otherwise `reply` as is.
    func mtaSTSReply(_ reply: SMTPReply, route: DeliveryRoute, domain: String) -> SMTPReply {
        guard route.mtaSTS?.mode == .enforce else { return reply }
        return SMTPReply(451, EnhancedStatusCode(4, 7, 5),
                         "MTA-STS policy of \(domain) requires TLS with a valid certificate for the MX host: \(reply.text)")
    }
}
