import COpenSSL
import Synchronization

/// Verifies SMTP AUTH credentials against the configured users, honouring each user's
/// `allowedNetworks`.
///
/// `verify` BLOCKS for one PBKDF2 run (~0.33 s at 600,000 iterations on the development machine)
/// unless the same user recently logged in with the same password: successful logins are remembered
/// as an HMAC of the password under a random per-process key (never the password itself), so
/// repeated AUTH by busy clients costs microseconds. Users whose password was plain text in the
/// config (a `PasswordHasher.memoryHash`) are checked in microseconds. Every failure (unknown user,
/// wrong password of any kind of user) costs one full PBKDF2 run, so timing does not reveal which
/// names exist. A stored PBKDF2 hash weaker than the current cost (`PasswordHasher.defaultIterations`)
/// is rehashed at that cost after a successful login; the config file cannot be rewritten, so the stronger hash
/// lives in memory only (until the process ends) and `upgradedUsers` names the users concerned.
/// Call from worker threads, not the event loop. Thread-safe; share one instance.
public struct Authenticator: Sendable {
    /// Result of a login attempt.
    public enum Outcome: Sendable, Equatable {
        /// Credentials valid and the client network allowed.
        case success(user: String, tenant: String)
        /// Rejected; reply with the same `535 5.7.8` for every reason so clients learn nothing.
        case failure(Failure)
    }

    /// Why a login failed (for logs and metrics only).
    public enum Failure: String, Sendable, Equatable {
        case unknownUser, badPassword, networkNotAllowed
    }

    struct Account: Sendable {
        let name: String
        let passwordHash: String
        let tenant: String
        let allowedNetworks: [IPNetwork]
    }

    let accounts: [String: Account]
    let cache: VerificationCache
    let upgrades: HashUpgrades
    /// The current PBKDF2 cost: a failed login pays one run of it, weaker stored hashes are rehashed to it.
    let iterations: Int

    /// Builds an authenticator from loaded users (those without `passwordHash` are skipped; `load`
    /// always fills it in). `iterations` is the current cost: what a failed login pays and what a
    /// weaker stored hash is rehashed to after a login (tests lower it). Does not block. Throws `RelayConfigError(.crypto)` when OpenSSL's random generator fails.
    public init(users: [RelayConfig.User], iterations: Int = PasswordHasher.defaultIterations) throws {
        accounts = Self.accounts(users)
        cache = try VerificationCache()
        upgrades = HashUpgrades()
        self.iterations = iterations
    }

    private init(accounts: [String: Account], cache: VerificationCache, upgrades: HashUpgrades, iterations: Int) {
        self.accounts = accounts
        self.cache = cache
        self.upgrades = upgrades
        self.iterations = iterations
    }

    /// An authenticator for `users` (a reloaded configuration's) that keeps this one's login cache
    /// and in-memory rehashes: users whose stored hash is unchanged keep their fast path, a changed
    /// password misses (entries are bound to the stored hash). Does not block. Any thread.
    public func replacingUsers(_ users: [RelayConfig.User]) -> Authenticator {
        Authenticator(accounts: Self.accounts(users), cache: cache, upgrades: upgrades, iterations: iterations)
    }

    private static func accounts(_ users: [RelayConfig.User]) -> [String: Account] {
        var map: [String: Account] = [:]
        for u in users {
            guard let h = u.passwordHash else { continue }
            map[u.name] = Account(name: u.name, passwordHash: h, tenant: u.tenant, allowedNetworks: u.allowedNetworks)
        }
        return map
    }

    /// Checks `user`/`password` from a client at `clientIP` (nil when unknown, e.g. a Unix socket; then
    /// users with `allowedNetworks` are refused). Blocks for PBKDF2 unless cached. Any thread.
    public func verify(user: String, password: String, clientIP: IPAddress?) -> Outcome {
        guard let account = accounts[user] else {
            PasswordHasher.burn(password, iterations: iterations)
            return .failure(.unknownUser)
        }
        if !cache.matches(user: user, storedHash: account.passwordHash, password: password) {
            // A hash rehashed in memory at the current cost stands in for the weaker stored one.
            let current = upgrades.hash(for: user, stored: account.passwordHash) ?? account.passwordHash
            guard PasswordHasher.verify(password, against: current) else {
                if PasswordHasher.isMemoryHash(current) { PasswordHasher.burn(password, iterations: iterations) }
                return .failure(.badPassword)
            }
            if PasswordHasher.needsRehash(current, iterations: iterations),
               let stronger = try? PasswordHasher.hash(password, iterations: iterations) {
                upgrades.record(user: user, stored: account.passwordHash, stronger: stronger)
            }
            cache.remember(user: user, storedHash: account.passwordHash, password: password)
        }
        if !account.allowedNetworks.isEmpty {
            guard let ip = clientIP, account.allowedNetworks.contains(where: { $0.contains(ip) }) else {
                return .failure(.networkNotAllowed)
            }
        }
        return .success(user: account.name, tenant: account.tenant)
    }

    /// Users whose stored hash was weaker than the current cost and has been rehashed in memory
    /// after a login (update their `passwordHash` in the config: `sendarix hash-password`).
    public var upgradedUsers: [String] { upgrades.users() }

    /// The hash `verify` checks `user` against now (the stored one, or its in-memory rehash), or nil
    /// for an unknown user. Does not block.
    public func effectiveHash(of user: String) -> String? {
        guard let account = accounts[user] else { return nil }
        return upgrades.hash(for: user, stored: account.passwordHash) ?? account.passwordHash
    }

    /// True if a user with this name exists (for admin listings; do not use to answer clients).
    public func hasUser(_ name: String) -> Bool { accounts[name] != nil }
}

/// Stronger hashes made after logins for users whose stored hash is weaker than the current cost,
/// bound to the stored hash they replace (a changed stored hash is used as is). Thread-safe.
/// Internal to Authenticator.
final class HashUpgrades: Sendable {
    let entries = Mutex<[String: (stored: String, stronger: String)]>([:])

    func hash(for user: String, stored: String) -> String? {
        guard let e = entries.withLock({ $0[user] }), e.stored == stored else { return nil }
        return e.stronger
    }

    func record(user: String, stored: String, stronger: String) {
        entries.withLock {
            if $0.count >= VerificationCache.capacity { $0.removeAll(keepingCapacity: true) }
            $0[user] = (stored, stronger)
        }
    }

    func users() -> [String] { entries.withLock { Array($0.keys) }.sorted() }
}

/// Remembers successful verifications as HMAC-SHA256(processKey, password) per user and stored hash.
/// Thread-safe. Internal to Authenticator.
final class VerificationCache: Sendable {
    struct Entry: Sendable {
        let storedHash: String
        let mac: [UInt8]
    }

    static let capacity = 10_000
    let key: [UInt8]
    let entries = Mutex<[String: Entry]>([:])

    init() throws { key = try SecureRandom.bytes(32) }

    func mac(_ password: String) -> [UInt8] { PasswordHasher.hmac(key: key, password) }

    func matches(user: String, storedHash: String, password: String) -> Bool {
        guard let e = entries.withLock({ $0[user] }), e.storedHash == storedHash else { return false }
        return PasswordHasher.constantTimeEqual(mac(password), e.mac)
    }

    func remember(user: String, storedHash: String, password: String) {
        let e = Entry(storedHash: storedHash, mac: mac(password))
        entries.withLock {
            if $0.count >= VerificationCache.capacity { $0.removeAll(keepingCapacity: true) }
            $0[user] = e
        }
    }
}
