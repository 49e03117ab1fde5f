/// A credential suspended by abuse detection or an operator: mail from it is refused with
/// `550 5.7.1` and the reason until an operator lifts the suspension. Stored under
/// `suspension/<tenant>/<username>`. Pure value; any thread.
public struct CredentialSuspension: Codable, Sendable, Equatable {
    public var tenant: String
    public var username: String
    /// Why, one line (e.g. `burst: 400 messages this hour, 20× the usual 20`).
    public var reason: String
    /// Who suspended it: `detector` or `operator`.
    public var by: String
    /// When (ms since epoch).
    public var at: Int64

    /// Creates a suspension. Any thread.
    public init(tenant: String, username: String, reason: String, by: String, at: Int64) {
        self.tenant = tenant
        self.username = username
        self.reason = reason
        self.by = by
        self.at = at
    }
}
