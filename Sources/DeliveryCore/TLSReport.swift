/// An RFC 8460 SMTP TLS aggregate report (§4.4): who reports (`organization-name`,
/// `contact-info`), for which period (`date-range`), and per policy applied to the recipient
/// domain the successful and failed session counts with the failures grouped by result type.
/// `Codable` with the RFC's JSON field names (optional fields are left out when nil).
///
/// Pure value; any thread. Built by `TLSReportLog.report`.
public struct TLSReport: Sendable, Equatable, Codable {
    /// RFC 8460 §4.3 result types of a failed session or policy.
    public enum ResultType: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
        /// The receiver did not offer (or refused) STARTTLS.
        case starttlsNotSupported = "starttls-not-supported"
        /// The certificate does not name the MX host.
        case certificateHostMismatch = "certificate-host-mismatch"
        /// The certificate has expired (or is not yet valid).
        case certificateExpired = "certificate-expired"
        /// The certificate does not chain to a trusted root.
        case certificateNotTrusted = "certificate-not-trusted"
        /// Any other failure (a failed handshake, an MX host outside the policy).
        case validationFailure = "validation-failure"
        /// The MTA-STS policy could not be fetched (HTTP error, unreachable host).
        case stsPolicyFetchError = "sts-policy-fetch-error"
        /// The fetched MTA-STS policy is malformed.
        case stsPolicyInvalid = "sts-policy-invalid"
        /// The policy host's certificate did not validate (PKIX, RFC 8461 §3.3).
        case stsWebpkiInvalid = "sts-webpki-invalid"

        /// Orders by raw value (stable report output). Pure.
        public static func < (a: ResultType, b: ResultType) -> Bool { a.rawValue < b.rawValue }

        /// The result type of an OpenSSL X.509 verification error code (`SSL_get_verify_result`;
        /// 0 is success and gives nil). Pure.
        public static func forVerifyError(_ code: Int) -> ResultType? {
            switch code {
            case 0: return nil
            case 9, 10: return .certificateExpired // X509_V_ERR_CERT_NOT_YET_VALID, _CERT_HAS_EXPIRED
            case 62: return .certificateHostMismatch // X509_V_ERR_HOSTNAME_MISMATCH
            case 2, 18, 19, 20, 21, 27, 28: return .certificateNotTrusted // unknown issuer, self-signed, untrusted, rejected
            default: return .validationFailure
            }
        }
    }

    /// `date-range`.
    public struct DateRange: Sendable, Equatable, Codable {
        /// RFC 3339 start.
        public var startDatetime: String
        /// RFC 3339 end.
        public var endDatetime: String
        /// Creates the range.
        public init(startDatetime: String, endDatetime: String) {
            self.startDatetime = startDatetime
            self.endDatetime = endDatetime
        }
        enum CodingKeys: String, CodingKey {
            case startDatetime = "start-datetime"
            case endDatetime = "end-datetime"
        }
    }

    /// `policies[].policy`.
    public struct Policy: Sendable, Hashable, Codable {
        /// `sts`, `tlsa` or `no-policy-found`.
        public var policyType: String
        /// The policy's lines (`sts`); nil when none was fetched.
        public var policyString: [String]?
        /// The recipient domain.
        public var policyDomain: String
        /// The policy's `mx` patterns (`sts`).
        public var mxHost: [String]?
        /// Creates the value.
        public init(policyType: String, policyString: [String]? = nil, policyDomain: String, mxHost: [String]? = nil) {
            self.policyType = policyType
            self.policyString = policyString
            self.policyDomain = policyDomain
            self.mxHost = mxHost
        }
        enum CodingKeys: String, CodingKey {
            case policyType = "policy-type"
            case policyString = "policy-string"
            case policyDomain = "policy-domain"
            case mxHost = "mx-host"
        }
    }

    /// `policies[].summary`.
    public struct Summary: Sendable, Equatable, Codable {
        /// Sessions that negotiated TLS as the policy requires.
        public var totalSuccessfulSessionCount: Int
        /// Sessions (or policy fetches) that failed.
        public var totalFailureSessionCount: Int
        /// Creates the value.
        public init(totalSuccessfulSessionCount: Int, totalFailureSessionCount: Int) {
            self.totalSuccessfulSessionCount = totalSuccessfulSessionCount
            self.totalFailureSessionCount = totalFailureSessionCount
        }
        enum CodingKeys: String, CodingKey {
            case totalSuccessfulSessionCount = "total-successful-session-count"
            case totalFailureSessionCount = "total-failure-session-count"
        }
    }

    /// `policies[].failure-details[]`: failed sessions of one kind.
    public struct FailureDetail: Sendable, Equatable, Codable {
        /// The result type.
        public var resultType: ResultType
        /// Our source address, when known.
        public var sendingMtaIp: String?
        /// The MX host tried.
        public var receivingMxHostname: String?
        /// The MX address tried.
        public var receivingIp: String?
        /// How many sessions failed this way.
        public var failedSessionCount: Int
        /// Free text (e.g. "MX host not listed in the policy").
        public var additionalInformation: String?
        /// Implementation-specific code (e.g. the OpenSSL verification error).
        public var failureReasonCode: String?
        /// Creates the value.
        public init(resultType: ResultType, sendingMtaIp: String? = nil, receivingMxHostname: String? = nil,
                    receivingIp: String? = nil, failedSessionCount: Int, additionalInformation: String? = nil,
                    failureReasonCode: String? = nil) {
            self.resultType = resultType
            self.sendingMtaIp = sendingMtaIp
            self.receivingMxHostname = receivingMxHostname
            self.receivingIp = receivingIp
            self.failedSessionCount = failedSessionCount
            self.additionalInformation = additionalInformation
            self.failureReasonCode = failureReasonCode
        }
        enum CodingKeys: String, CodingKey {
            case resultType = "result-type"
            case sendingMtaIp = "sending-mta-ip"
            case receivingMxHostname = "receiving-mx-hostname"
            case receivingIp = "receiving-ip"
            case failedSessionCount = "failed-session-count"
            case additionalInformation = "additional-information"
            case failureReasonCode = "failure-reason-code"
        }
    }

    /// `policies[]`: one applied policy and its sessions.
    public struct PolicyResult: Sendable, Equatable, Codable {
        /// The policy.
        public var policy: Policy
        /// Session counts.
        public var summary: Summary
        /// Failures grouped by kind, host and addresses.
        public var failureDetails: [FailureDetail]
        /// Creates the value.
        public init(policy: Policy, summary: Summary, failureDetails: [FailureDetail]) {
            self.policy = policy
            self.summary = summary
            self.failureDetails = failureDetails
        }
        enum CodingKeys: String, CodingKey {
            case policy
            case summary
            case failureDetails = "failure-details"
        }
    }

    /// The reporting organisation.
    public var organizationName: String
    /// The reporting period.
    public var dateRange: DateRange
    /// Where to reach the reporter.
    public var contactInfo: String
    /// Unique identifier of the report.
    public var reportId: String
    /// One entry per policy applied in the period.
    public var policies: [PolicyResult]

    /// Creates a report. Pure.
    public init(organizationName: String, dateRange: DateRange, contactInfo: String, reportId: String,
                policies: [PolicyResult]) {
        self.organizationName = organizationName
        self.dateRange = dateRange
        self.contactInfo = contactInfo
        self.reportId = reportId
        self.policies = policies
    }

    enum CodingKeys: String, CodingKey {
        case organizationName = "organization-name"
        case dateRange = "date-range"
        case contactInfo = "contact-info"
        case reportId = "report-id"
        case policies
    }
}
