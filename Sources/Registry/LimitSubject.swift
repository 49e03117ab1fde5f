/// Who a message or session is counted against: a tenant and, when known, one of its credentials
/// (config-file user or registry credential — only the names matter here). Pure value; any thread.
public struct LimitSubject: Sendable, Hashable {
    /// The tenant.
    public var tenant: String
    /// The credential's user name, nil when the sender did not authenticate with one.
    public var username: String?

    /// Creates a subject. Any thread.
    public init(tenant: String, username: String?) {
        self.tenant = tenant
        self.username = username
    }

    /// The tenant's key in usage counters: `tenant/<tenant>`.
    public var tenantKey: String { "tenant/" + tenant }
    /// The credential's key in usage counters: `credential/<tenant>/<user>`, nil without a user.
    public var credentialKey: String? { username.map { "credential/\(tenant)/\($0)" } }
    /// Every key this subject's sending counts against.
    public var keys: [String] { [tenantKey] + (credentialKey.map { [$0] } ?? []) }
}
