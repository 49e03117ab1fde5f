import DNSCore
import DNSService
import DeliveryCore
import Synchronization

/// Outbound TLS policy shell (RFC 8461 MTA-STS, RFC 8460 TLS-RPT): looks up `_mta-sts.<domain>`
/// TXT through the delivery resolver, fetches the policy over HTTPS when the cache says so
/// (`MTASTSCache`), and keeps the per-domain TLS outcomes of MX sessions (`TLSReportLog`) for
/// the admin API's aggregate reports. Policies and outcomes live in memory on this node only.
///
/// `policy(for:)` BLOCKS on DNS and HTTPS (call it from a delivery DNS worker); the rest never
/// blocks. Thread-safe.
final class MTASTSService: Sendable {
    /// The policy applied to one delivery (enforce or testing; nil for none or no policy).
    struct Applied: Sendable, Equatable {
        /// The `id` of the TXT record the policy came with.
        var id: String
        /// The policy.
        var policy: MTASTSPolicy
    }

    let resolver: DNSResolver
    let fetcher: MTASTSFetcher
    let clock: @Sendable () -> Double
    private let cache: Mutex<MTASTSCache>
    private let outcomes = Mutex(TLSReportLog())

    init(resolver: DNSResolver, fetcher: MTASTSFetcher, maxAgeCap: Double, clock: @escaping @Sendable () -> Double) {
        self.resolver = resolver
        self.fetcher = fetcher
        self.clock = clock
        self.cache = Mutex(MTASTSCache(maxAgeCap: maxAgeCap))
    }

    /// The MTA-STS policy that applies to mail for `domain` now (RFC 8461 §5.1), fetching it
    /// when needed; nil when the domain has none, its mode is `none`, or it could not be
    /// fetched without a cached fallback (fetch failures are recorded for TLS reports). BLOCKS.
    func policy(for domain: String) -> Applied? {
        let domain = domain.lowercased()
        let lookup = txtLookup(domain)
        let now = clock()
        let decision = cache.withLock { $0.decide(domain: domain, lookup: lookup, now: now) }
        let entry: MTASTSCache.Entry?
        switch decision {
        case .noPolicy:
            entry = nil
        case .use(let cached):
            entry = cached
        case .fetch(let id, let fallback):
            switch fetcher.fetch(domain: domain) {
            case .success(let body):
                switch MTASTSPolicy.parse(body) {
                case .success(let policy):
                    entry = cache.withLock { $0.store(domain: domain, id: id, policy: policy, now: now) }
                case .failure(let error):
                    recordFailure(domain: domain, policy: fallback?.policy, unfetched: fallback == nil,
                                  failure: TLSReportLog.Failure(.stsPolicyInvalid, information: error.description))
                    entry = fallback
                }
            case .failure(let failure):
                recordFailure(domain: domain, policy: fallback?.policy, unfetched: fallback == nil,
                              failure: TLSReportLog.Failure(failure.resultType, mxHost: "mta-sts." + domain, information: failure.reason))
                entry = fallback
            }
        }
        guard let entry, entry.policy.mode != .none else { return nil }
        return Applied(id: entry.id, policy: entry.policy)
    }

    /// The TXT lookup of `_mta-sts.<domain>`. BLOCKS.
    private func txtLookup(_ domain: String) -> MTASTSRecord.Lookup {
        guard let name = try? DNSName("_mta-sts." + domain) else { return .none }
        let outcome = resolver.lookup(name, .txt)
        switch outcome {
        case .records:
            return MTASTSRecord.lookup(fromTXT: DNSResolverCore.texts(from: outcome))
        case .nxdomain, .noData:
            return .none
        case .failure(let reason):
            return .failure(reason)
        }
    }

    /// The cached policy of `domain` (unexpired), for the admin API and tests. Never blocks.
    func cachedPolicy(_ domain: String) -> MTASTSCache.Entry? {
        let now = clock()
        return cache.withLock { $0.valid(domain, now: now) }
    }

    /// Counts a session that met `policy` (nil: the domain has no policy).
    func recordSuccess(domain: String, policy: MTASTSPolicy?) {
        let now = clock()
        let p = TLSReportLog.policy(domain: domain, sts: policy)
        outcomes.withLock { $0.recordSuccess(domain: domain, policy: p, now: now) }
    }

    /// Counts a failed session or policy fetch. `unfetched`: an `sts` policy that could not be
    /// obtained (reported without a policy string).
    func recordFailure(domain: String, policy: MTASTSPolicy?, unfetched: Bool = false, failure: TLSReportLog.Failure) {
        let now = clock()
        let p = unfetched ? TLSReportLog.unfetchedPolicy(domain: domain) : TLSReportLog.policy(domain: domain, sts: policy)
        outcomes.withLock { $0.recordFailure(domain: domain, policy: p, failure: failure, now: now) }
    }

    /// The aggregate report of `domain` for `[since, until)`. Never blocks.
    func report(domain: String, since: Double, until: Double, organization: String, contact: String,
                reportID: String) -> TLSReport {
        outcomes.withLock {
            $0.report(domain: domain, since: since, until: until, organization: organization, contact: contact, reportID: reportID)
        }
    }

    /// Domains with outcomes in `[since, until)`. Never blocks.
    func reportDomains(since: Double, until: Double) -> [String] {
        outcomes.withLock { $0.domains(since: since, until: until) }
    }
}
