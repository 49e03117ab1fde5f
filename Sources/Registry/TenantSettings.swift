/// Per-tenant settings of the control plane. Pure value; any thread.
public struct TenantSettings: Codable, Sendable, Equatable {
    /// What happens to mail whose envelope sender or From domain is not a verified sending domain
    /// of the sender's tenant.
    public enum SenderPolicy: String, Codable, Sendable, Equatable, CaseIterable {
        /// Refused: `550 5.7.1` naming the domain (MAIL FROM, or end of DATA for the From header).
        case enforce
        /// Accepted; signed only when the From domain is verified.
        case signOnly = "sign-only"
        /// Accepted as it is; signed when the From domain is verified.
        case off
    }

    public var name: String
    public var senderPolicy: SenderPolicy
    /// Subdomains of a verified domain count as verified for the policy (signing uses the parent's
    /// keys with `d=` the parent, which DMARC relaxed alignment accepts).
    public var allowSubdomains: Bool
    /// Sending limits of the whole tenant (every credential together); nil: none. Records written
    /// before limits existed decode with nil.
    public var limits: SendingLimits?

    /// Creates settings. Any thread.
    public init(name: String, senderPolicy: SenderPolicy = .signOnly, allowSubdomains: Bool = true,
                limits: SendingLimits? = nil) {
        self.name = name
        self.senderPolicy = senderPolicy
        self.allowSubdomains = allowSubdomains
        self.limits = limits
    }
}
