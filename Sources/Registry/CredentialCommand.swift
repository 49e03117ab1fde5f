/// A change to one SMTP credential (`RegistryCommand.credential`). Times come from the command,
/// so every node applies it the same way. Pure value; any thread.
public enum CredentialCommand: Codable, Sendable, Equatable {
    /// Creates a credential (refused when the user name is taken or its tenant does not exist).
    case add(Credential)
    /// Replaces a credential's settings (networks, sender domains, pool, limits, environment,
    /// platform); its passwords, state and usage are kept.
    case update(Credential)
    /// Adds a new password; passwords valid now stay valid until `graceUntil` (ms), then expire.
    case rotate(username: String, hash: String, at: Int64, graceUntil: Int64)
    /// Suspends (with a reason) or resumes a credential.
    case setState(username: String, state: Credential.State, reason: String, at: Int64)
    /// Revokes a credential: its record is deleted (`tenant` must match).
    case remove(username: String, tenant: String, at: Int64)
    /// A login at `at` from `ip` (kept only when later than the stored one).
    case used(username: String, at: Int64, ip: String)
    /// Replaces the hash `old` (still present) with `new`, the same password at the current cost.
    case rehash(username: String, old: String, new: String)

    /// The credential concerned.
    public var username: String {
        switch self {
        case .add(let c), .update(let c): c.username
        case .rotate(let u, _, _, _), .setState(let u, _, _, _), .remove(let u, _, _), .used(let u, _, _),
             .rehash(let u, _, _): u
        }
    }

    /// The record keys it reads and may write.
    public var keys: [String] {
        if case .add(let c) = self { return [RegistryKeys.credential(c.username), RegistryKeys.tenant(c.tenant)] }
        return [RegistryKeys.credential(username)]
    }
}

extension RegistryKeys {
    /// `credential/<username>`.
    public static func credential(_ username: String) -> String { credentialPrefix + username }
    /// The prefix of every credential record.
    public static let credentialPrefix = "credential/"
}
