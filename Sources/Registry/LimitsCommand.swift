/// Control-plane changes of the limits and abuse layer (issue 11), carried by
/// `RegistryCommand.limits`. Pure value; any thread.
public enum LimitsCommand: Codable, Sendable, Equatable {
    /// A node's usage report (`LimitLedger.report`), merged into `usage/<node>`.
    case usage(NodeUsage)
    /// Suspends a credential (refused if it is already suspended).
    case suspend(CredentialSuspension)
    /// Lifts a credential's suspension (refused if it is not suspended).
    case lift(tenant: String, username: String, by: String, at: Int64)
    /// An abuse alert with no action: recorded as a `credential.alert` event only.
    case alert(tenant: String, username: String, reason: String, at: Int64)
    /// Holds a message in the quarantine (refused if the id is taken).
    case hold(QuarantinedMessage)
    /// Removes a held message (released: the shell queued it first; else deleted).
    case unhold(id: String)

    /// The record keys this command reads and may write.
    public var keys: [String] {
        switch self {
        case .usage(let u): [RegistryKeys.usage(u.node)]
        case .suspend(let s): [RegistryKeys.suspension(tenant: s.tenant, username: s.username)]
        case .lift(let t, let u, _, _): [RegistryKeys.suspension(tenant: t, username: u)]
        case .alert: []
        case .hold(let m): [RegistryKeys.quarantine(m.id)]
        case .unhold(let id): [RegistryKeys.quarantine(id)]
        }
    }
}

extension RegistryKeys {
    /// `usage/<node>`: a node's latest usage counters.
    public static func usage(_ node: String) -> String { "usage/" + node }
    /// `suspension/<tenant>/<username>`.
    public static func suspension(tenant: String, username: String) -> String { "suspension/\(tenant)/\(username)" }
    /// `quarantine/<id>`: a held message.
    public static func quarantine(_ id: String) -> String { "quarantine/" + id }
    /// The prefix of every held message.
    public static let quarantinePrefix = "quarantine/"
    /// The prefix of every usage record.
    public static let usagePrefix = "usage/"
    /// The prefix of every suspension record.
    public static let suspensionPrefix = "suspension/"
}
