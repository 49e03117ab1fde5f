import Foundation

/// A change to the control plane, committed through the replicated log like every spool command,
/// applied by `RegistryMachine` on every node. Encoded as JSON (sorted keys): control-plane
/// changes are rare and small, and JSON lets records grow fields. Pure value; any thread.
public enum RegistryCommand: Codable, Sendable, Equatable {
    /// Adds a sending domain (refused if it exists).
    case addDomain(SendingDomain)
    /// Removes a sending domain and its keys.
    case removeDomain(name: String, at: Int64)
    /// The result of looking up a domain's records: which selectors were found as published
    /// (`found`), and why not (`reason`). Moves pending/failing → verified when every active key
    /// was found, verified → failing when one was not; promotes next keys found as published.
    case recordCheck(name: String, found: [String], reason: String, at: Int64, graceMillis: Int64)
    /// Adds keys to publish ahead of a rotation (state `next`).
    case addKeys(name: String, keys: [DKIMKey])
    /// Sets a tenant's settings.
    case setTenant(TenantSettings)
    /// Changes an SMTP credential.
    case credential(CredentialCommand)
    /// Usage reports, suspensions and alerts of the limits and abuse layer.
    case limits(LimitsCommand)
    /// A webhook endpoint change or an outbox call's lease/result/replay (`WebhookCommand`).
    case webhook(WebhookCommand)

    /// The record keys this command reads and may write.
    public var keys: [String] {
        switch self {
        case .addDomain(let d): [RegistryKeys.domain(d.name)]
        case .removeDomain(let name, _), .recordCheck(let name, _, _, _, _), .addKeys(let name, _):
            [RegistryKeys.domain(name)]
        case .setTenant(let t): [RegistryKeys.tenant(t.name)]
        case .credential(let c): c.keys
        case .limits(let c): c.keys
        case .webhook(let w): w.keys
        }
    }

    /// JSON bytes (sorted keys, so every node encodes a command the same way).
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(self)) ?? Data())
    }

    /// Decodes `encoded()`'s or `encoded(binary:)`'s bytes; throws on malformed input.
    public init(decoding bytes: some Collection<UInt8>) throws {
        if bytes.first == WebhookCommand.binaryMagic { self = .webhook(try WebhookCommand(binary: bytes)); return }
        self = try JSONDecoder().decode(RegistryCommand.self, from: Data(bytes))
    }
}

/// Keys of control-plane records in the store.
public enum RegistryKeys {
    /// `domain/<name>`.
    public static func domain(_ name: String) -> String { "domain/" + name.lowercased() }
    /// `tenant/<name>`.
    public static func tenant(_ name: String) -> String { "tenant/" + name }
    /// The prefix of every domain record.
    public static let domainPrefix = "domain/"
    /// The prefix of every tenant record.
    public static let tenantPrefix = "tenant/"
}
