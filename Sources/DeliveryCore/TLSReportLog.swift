import SendarixSupport

/// Per-domain TLS outcomes of outbound sessions (RFC 8460), counted per UTC day, per recipient
/// domain and per applied policy, with failures grouped by result type, addresses and MX host;
/// turns them into `TLSReport`s for a period. Bounded: `retentionDays` days, at most
/// `maxDomainsPerDay` domains a day (further domains that day are not counted) and at most
/// `maxDetailsPerPolicy` failure groups per policy (further ones are counted in the summary only).
///
/// Pure value; the clock is passed in (seconds since the epoch). The shell wraps it in a lock.
public struct TLSReportLog: Sendable {
    /// One failed session.
    public struct Failure: Sendable, Hashable {
        /// What failed.
        public var resultType: TLSReport.ResultType
        /// Our source address, when known.
        public var sendingIP: String?
        /// The MX host tried.
        public var mxHost: String?
        /// The MX address tried.
        public var receivingIP: String?
        /// Free text.
        public var information: String?
        /// e.g. the OpenSSL verification error code.
        public var reasonCode: String?
        /// Creates the value. Pure.
        public init(_ resultType: TLSReport.ResultType, sendingIP: String? = nil, mxHost: String? = nil,
                    receivingIP: String? = nil, information: String? = nil, reasonCode: String? = nil) {
            self.resultType = resultType
            self.sendingIP = sendingIP
            self.mxHost = mxHost
            self.receivingIP = receivingIP
            self.information = information
            self.reasonCode = reasonCode
        }
    }

    struct Bucket: Sendable {
        var successes = 0
        var failures = 0
        var details: [Failure: Int] = [:]
    }

    /// Days kept (older days are dropped as new ones start).
    public let retentionDays: Int
    /// Domains counted per day.
    public let maxDomainsPerDay: Int
    /// Failure groups kept per policy and day.
    public let maxDetailsPerPolicy: Int
    /// day number (days since the epoch) → domain → policy → counts.
    private(set) var days: [Int64: [String: [TLSReport.Policy: Bucket]]] = [:]

    /// Creates an empty log. Pure.
    public init(retentionDays: Int = 8, maxDomainsPerDay: Int = 50_000, maxDetailsPerPolicy: Int = 200) {
        self.retentionDays = max(1, retentionDays)
        self.maxDomainsPerDay = max(1, maxDomainsPerDay)
        self.maxDetailsPerPolicy = max(1, maxDetailsPerPolicy)
    }

    /// The `policy` object for `domain` under `policy` (nil: `no-policy-found`). Pure.
    public static func policy(domain: String, sts: MTASTSPolicy?) -> TLSReport.Policy {
        guard let sts else { return TLSReport.Policy(policyType: "no-policy-found", policyDomain: domain.lowercased()) }
        return TLSReport.Policy(policyType: "sts", policyString: sts.lines, policyDomain: domain.lowercased(),
                                mxHost: sts.mx)
    }

    /// The `policy` object for a domain whose MTA-STS policy could not be fetched or parsed
    /// (type `sts`, no policy string). Pure.
    public static func unfetchedPolicy(domain: String) -> TLSReport.Policy {
        TLSReport.Policy(policyType: "sts", policyDomain: domain.lowercased())
    }

    /// Counts a session that met the policy.
    public mutating func recordSuccess(domain: String, policy: TLSReport.Policy, now: Double) {
        update(domain: domain, policy: policy, now: now) { $0.successes += 1 }
    }

    /// Counts a failed session (or policy fetch).
    public mutating func recordFailure(domain: String, policy: TLSReport.Policy, failure: Failure, now: Double) {
        let limit = maxDetailsPerPolicy
        update(domain: domain, policy: policy, now: now) { bucket in
            bucket.failures += 1
            if bucket.details[failure] != nil || bucket.details.count < limit { bucket.details[failure, default: 0] += 1 }
        }
    }

    private mutating func update(domain: String, policy: TLSReport.Policy, now: Double, _ change: (inout Bucket) -> Void) {
        let day = TLSReportLog.day(now)
        if days[day] == nil {
            days = days.filter { $0.key > day - Int64(retentionDays) }
        }
        let key = domain.lowercased()
        var domains = days[day] ?? [:]
        guard domains[key] != nil || domains.count < maxDomainsPerDay else { return }
        change(&domains[key, default: [:]][policy, default: Bucket()])
        days[day] = domains
    }

    /// The domains with counts in the UTC days overlapping `[since, until)`, sorted. Pure.
    public func domains(since: Double, until: Double) -> [String] {
        var names: Set<String> = []
        for (day, domains) in days where TLSReportLog.overlaps(day, since: since, until: until) {
            names.formUnion(domains.keys)
        }
        return names.sorted()
    }

    /// The report for `domain` over the UTC days overlapping `[since, until)` (the date range is
    /// widened to those whole days; counts are kept per day). Policies are sorted by type and
    /// string, failure details by count (largest first). Pure.
    public func report(domain: String, since: Double, until: Double, organization: String, contact: String,
                       reportID: String) -> TLSReport {
        let first = TLSReportLog.day(since)
        let last = max(first, TLSReportLog.day(until - 0.001))
        var merged: [TLSReport.Policy: Bucket] = [:]
        for day in first...last {
            for (policy, bucket) in days[day]?[domain.lowercased()] ?? [:] {
                merged[policy, default: Bucket()].successes += bucket.successes
                merged[policy, default: Bucket()].failures += bucket.failures
                for (failure, count) in bucket.details { merged[policy, default: Bucket()].details[failure, default: 0] += count }
            }
        }
        let policies = merged.sorted { a, b in
            (a.key.policyType, (a.key.policyString ?? []).joined(separator: "\n"))
                < (b.key.policyType, (b.key.policyString ?? []).joined(separator: "\n"))
        }.map { policy, bucket in
            TLSReport.PolicyResult(
                policy: policy,
                summary: TLSReport.Summary(totalSuccessfulSessionCount: bucket.successes, totalFailureSessionCount: bucket.failures),
                failureDetails: bucket.details.sorted { a, b in
                    a.value != b.value ? a.value > b.value : (a.key.resultType, a.key.mxHost ?? "") < (b.key.resultType, b.key.mxHost ?? "")
                }.map { failure, count in
                    TLSReport.FailureDetail(resultType: failure.resultType, sendingMtaIp: failure.sendingIP,
                                            receivingMxHostname: failure.mxHost, receivingIp: failure.receivingIP,
                                            failedSessionCount: count, additionalInformation: failure.information,
                                            failureReasonCode: failure.reasonCode)
                })
        }
        let range = TLSReport.DateRange(startDatetime: TLSReportLog.timestamp(Double(first) * 86_400),
                                        endDatetime: TLSReportLog.timestamp(Double(last + 1) * 86_400 - 1))
        return TLSReport(organizationName: organization, dateRange: range, contactInfo: contact, reportId: reportID,
                         policies: policies)
    }

    /// The UTC day number of `seconds`. Pure.
    static func day(_ seconds: Double) -> Int64 {
        Int64((seconds / 86_400).rounded(.down))
    }

    static func overlaps(_ day: Int64, since: Double, until: Double) -> Bool {
        Double(day) * 86_400 < until && Double(day + 1) * 86_400 > since
    }

    /// RFC 3339 UTC time of `seconds`, without fractional seconds (`2016-04-01T00:00:00Z`). Pure.
    public static func timestamp(_ seconds: Double) -> String {
        let text = CivilDate.rfc3339(millis: Int64(seconds.rounded(.down)) * 1000)
        return text.hasSuffix(".000Z") ? String(text.dropLast(5)) + "Z" : text
    }
}
