import COpenSSL
import Synchronization

/// Verifies SMTP AUTH credentials against the configured users, honouring each user's
/// `allowedNetworks`.
///
/// `verify` BLOCKS for one PBKDF2 run (~60 ms at 100,000 iterations on the development machine) unless the same user recently
/// logged in with the same password: successful logins are remembered as an HMAC of the password under
/// a random per-process key (never the password itself), so repeated AUTH by busy clients costs
/// microseconds. Unknown users also pay a full PBKDF2 run so timing does not reveal which names exist.
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
    let dummyHash: String

    /// Builds an authenticator from loaded users (those without `passwordHash` are skipped; `load`
    /// always fills it in). Blocks for one PBKDF2 run to create the timing-equalisation hash.
    /// Throws `RelayConfigError(.crypto)` when OpenSSL's random generator fails.
    public init(users: [RelayConfig.User], iterations: Int = PasswordHasher.defaultIterations) throws {
        accounts = Self.accounts(users)
        cache = try VerificationCache()
        dummyHash = try PasswordHasher.hash(try SecureRandom.token(length: 16), iterations: iterations)
    }

    private init(accounts: [String: Account], cache: VerificationCache, dummyHash: String) {
        self.accounts = accounts
        self.cache = cache
        self.dummyHash = dummyHash
    }

    /// An authenticator for `users` (a reloaded configuration's) that keeps this one's login cache
    /// and timing hash: users whose stored hash is unchanged keep their fast path, a changed password
    /// misses (entries are bound to the stored hash). Does not block. Any thread.
    public func replacingUsers(_ users: [RelayConfig.User]) -> Authenticator {
        Authenticator(accounts: Self.accounts(users), cache: cache, dummyHash: dummyHash)
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
            _ = PasswordHasher.verify(password, against: dummyHash)
            return .failure(.unknownUser)
        }
        if !cache.matches(user: user, storedHash: account.passwordHash, password: password) {
            guard PasswordHasher.verify(password, against: account.passwordHash) else {
                return .failure(.badPassword)
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

    /// True if a user with this name exists (for admin listings; do not use to answer clients).
    public func hasUser(_ name: String) -> Bool { accounts[name] != nil }
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

    func mac(_ password: String) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var outLen: UInt32 = 32
        let pw = Array(password.utf8)
        _ = key.withUnsafeBufferPointer { k in
            pw.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), p.baseAddress, p.count, o.baseAddress, &outLen)
                }
            }
        }
        return out
    }

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
