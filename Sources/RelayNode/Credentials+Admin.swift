import Dispatch
import Foundation
import Registry
import RelayConfig
import SendarixSupport
import SpoolStore
import Synchronization

extension Credentials {
    /// Every tenant with settings in the registry.
    func tenants() throws -> [TenantSettings] {
        try store.registryRecords(prefix: RegistryKeys.tenantPrefix).compactMap(\.tenant)
    }

    /// Creates a tenant (refused when it exists). Blocks for a log commit.
    func createTenant(_ settings: TenantSettings) throws {
        guard (try store.registryRecord(RegistryKeys.tenant(settings.name)))?.tenant == nil else {
            throw OperatorError.invalid("tenant \(settings.name) already exists")
        }
        try commit(.setTenant(settings))
    }

    /// Creates a credential in `tenant`: `username` or a generated one, `password` or a generated
    /// one (or an imported `passwordHash`). Returns the credential and the password to show once
    /// (nil for an imported hash). Blocks for PBKDF2 and a log commit.
    func create(tenant: String, username: String?, password: String?, passwordHash: String?, settings: Credential.Settings,
                configUsers: Set<String>) throws -> (Credential, String?) {
        let name = username ?? "\(tenant.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(32))-\(Self.randomText(6).lowercased())"
        guard !configUsers.contains(name) else { throw OperatorError.invalid("user name \(name) is taken by a user of the config file") }
        var shown: String? = nil
        let hash: String
        if let passwordHash {
            guard PasswordHasher.parse(passwordHash) != nil else {
                throw OperatorError.invalid("passwordHash must be a '$pbkdf2-sha256$i=<iterations>$<salt>$<hash>' hash")
            }
            hash = passwordHash
        } else {
            let pw = password ?? Self.randomText(24)
            guard pw.utf8.count >= 12 else { throw OperatorError.invalid("passwords are at least 12 characters") }
            hash = try PasswordHasher.hash(pw, iterations: iterations)
            shown = pw
        }
        let now = WallClock.nowMillis()
        var c = Credential(username: name, tenant: tenant, passwords: [Credential.Password(hash: hash, createdAt: now)], createdAt: now)
        c.settings = settings
        try checkSenderDomains(c)
        try commit(.credential(.add(c)))
        return (c, shown)
    }

    /// Changes a credential's settings. Blocks for a log commit.
    func update(tenant: String, username: String, settings: Credential.Settings) throws -> Credential {
        var c = try existing(tenant: tenant, username: username)
        c.settings = settings
        try checkSenderDomains(c)
        try commit(.credential(.update(c)))
        return try existing(tenant: tenant, username: username)
    }

    /// Adds a new password (given or generated); the current ones stay valid for `graceSeconds`.
    /// Returns the new password and when the old ones stop. Blocks for PBKDF2 and a log commit.
    func rotate(tenant: String, username: String, password: String?, graceSeconds: Int) throws -> (String, Int64) {
        _ = try existing(tenant: tenant, username: username)
        let pw = password ?? Self.randomText(24)
        guard pw.utf8.count >= 12 else { throw OperatorError.invalid("passwords are at least 12 characters") }
        guard (0...30 * 86_400).contains(graceSeconds) else { throw OperatorError.invalid("graceSeconds is 0 to 2592000 (30 days)") }
        let now = WallClock.nowMillis()
        let until = now + Int64(graceSeconds) * 1000
        try commit(.credential(.rotate(username: username, hash: try PasswordHasher.hash(pw, iterations: iterations),
                                       at: now, graceUntil: until)))
        return (pw, until)
    }

    /// Suspends (with a reason) or resumes a credential. Blocks for a log commit.
    func setState(tenant: String, username: String, suspended: Bool, reason: String) throws -> Credential {
        _ = try existing(tenant: tenant, username: username)
        try commit(.credential(.setState(username: username, state: suspended ? .suspended : .active, reason: reason,
                                         at: WallClock.nowMillis())))
        return try existing(tenant: tenant, username: username)
    }

    /// Revokes (deletes) a credential. Blocks for a log commit.
    func revoke(tenant: String, username: String) throws {
        _ = try existing(tenant: tenant, username: username)
        try commit(.credential(.remove(username: username, tenant: tenant, at: WallClock.nowMillis())))
    }

    /// The credentials of `tenant`.
    func list(tenant: String) throws -> [Credential] {
        try store.registryRecords(prefix: RegistryKeys.credentialPrefix).compactMap(\.credential).filter { $0.tenant == tenant }
    }

    /// One credential of `tenant`.
    func existing(tenant: String, username: String) throws -> Credential {
        guard let c = record(username), c.tenant == tenant else { throw OperatorError.notFound("no credential \(username) in tenant \(tenant)") }
        return c
    }

    /// Sending domains tie in: a listed sender domain that is a registered sending domain must be
    /// one of the credential's tenant.
    func checkSenderDomains(_ c: Credential) throws {
        for d in c.allowedSenderDomains {
            if let owner = (try? store.registryRecord(RegistryKeys.domain(d)))??.domain?.tenant, owner != c.tenant {
                throw OperatorError.invalid("\(d) is a sending domain of another tenant")
            }
        }
        for n in c.allowedNetworks where IPNetwork(n) == nil {
            throw OperatorError.invalid("'\(n)' is not a network in CIDR notation")
        }
    }

    /// `count` random bytes as base64url text (no padding).
    static func randomText(_ count: Int) -> String {
        let bytes = (try? SecureRandom.bytes(count)) ?? (0..<count).map { _ in UInt8.random(in: 0...255) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Proposes `command` and waits for it to be applied here. Blocks.
    func commit(_ command: RegistryCommand) throws {
        switch log.proposeAndWait(.registry(command)) {
        case .success: return
        case .failure(let e) where e.code == .invalidCommand: throw OperatorError.invalid(e.reason)
        case .failure(let e): throw OperatorError.temporary(e.description)
        }
    }
}
