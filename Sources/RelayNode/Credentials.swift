import Dispatch
import Foundation
import Registry
import RelayConfig
import SendarixSupport
import SpoolStore
import Synchronization

/// API-managed SMTP credentials on this node: operator actions commit `RegistryCommand.credential`
/// through the replicated log; logins and acceptance read the record from the registry (LMDB, the
/// same on every node) on every use, so a change committed anywhere holds here as soon as this
/// node applies it — no reload, no cache to expire.
///
/// Last use is recorded through the log at most once a minute per credential and node: a login
/// proposes `used` only when the stored `lastUsedAt` is older than a minute and this node has not
/// proposed one for it within the minute (fire and forget; a lost proposal only delays the
/// figure). Operator calls BLOCK (PBKDF2, a log commit): run them off the event loops. `verify`
/// blocks for PBKDF2 (AuthService runs it on its bounded pool). Thread-safe.
final class Credentials: Sendable {
    let store: SpoolStore
    let log: any ReplicatedLog
    let logger: NodeLogger
    /// The PBKDF2 cost of new hashes; stored hashes below it are rehashed after a login.
    let iterations: Int
    /// How often a login's time and address are written through the log, per credential and node.
    static let usageIntervalMillis: Int64 = 60_000
    /// The last successful check per user: the stored hash it matched and the password's
    /// process-keyed HMAC (`PasswordHasher.memoryHash`), never the password.
    private let verified = Mutex<[String: (hash: String, mac: String)]>([:])
    private let usageProposed = Mutex<[String: Int64]>([:])
    private let rehashing = Mutex<Set<String>>([])

    init(store: SpoolStore, log: any ReplicatedLog, logger: NodeLogger, iterations: Int = PasswordHasher.defaultIterations) {
        self.store = store
        self.log = log
        self.logger = logger
        self.iterations = iterations
    }

    /// The credential named `username`, or nil. One LMDB read; any thread.
    func record(_ username: String) -> Credential? {
        guard Credential.isValidUsername(username) else { return nil }
        return (try? store.registryRecord(RegistryKeys.credential(username)))??.credential
    }

    // MARK: Logins (block for PBKDF2)

    /// The result of a password check against a credential.
    enum Outcome: Equatable {
        case success(Credential)
        /// Wrong password, expired password, or a network not allowed (logged, not told).
        case failure(String)
        /// Right password but the credential may not log in: the reason is told to the client.
        case refused(String)
    }

    /// Checks `password` for `credential` from `clientIP` at `now` (ms). Every valid password
    /// (two during a rotation's grace period) is tried; a repeated login with the same password
    /// costs microseconds. After a success: the hash is upgraded through the log when weaker than
    /// `iterations`, and the use recorded. Blocks for PBKDF2; any thread.
    func verify(_ credential: Credential, password: String, clientIP: IPAddress?, now: Int64) -> Outcome {
        let valid = credential.validPasswords(at: now)
        guard !valid.isEmpty else {
            PasswordHasher.burn(password, iterations: iterations)
            return .failure("no valid password")
        }
        let mac = (try? PasswordHasher.memoryHash(password)) ?? ""
        var matched: Credential.Password?
        if let e = verified.withLock({ $0[credential.username] }), !mac.isEmpty,
           PasswordHasher.constantTimeEqual(Array(e.mac.utf8), Array(mac.utf8)) {
            matched = valid.first { $0.hash == e.hash }
        }
        if matched == nil {
            matched = valid.first { PasswordHasher.verify(password, against: $0.hash) }
        }
        guard let matched else { return .failure("bad password") }
        if !mac.isEmpty {
            verified.withLock {
                if $0.count >= 10_000 { $0.removeAll(keepingCapacity: true) }
                $0[credential.username] = (matched.hash, mac)
            }
        }
        if PasswordHasher.needsRehash(matched.hash, iterations: iterations) {
            rehash(credential.username, old: matched.hash, password: password)
        }
        let networks = credential.allowedNetworks.compactMap(IPNetwork.init)
        if !networks.isEmpty {
            guard let ip = clientIP, networks.contains(where: { $0.contains(ip) }) else { return .failure("network not allowed") }
        }
        if credential.state == .suspended {
            return .refused("Credential suspended: " + credential.stateReason)
        }
        noteUse(credential, ip: clientIP?.description ?? "", now: now)
        return .success(credential)
    }

    /// Records a login through the log unless one was recorded (or proposed here) within
    /// `usageIntervalMillis`. Never blocks.
    func noteUse(_ credential: Credential, ip: String, now: Int64) {
        guard now - (credential.lastUsedAt ?? .min / 2) >= Self.usageIntervalMillis else { return }
        let due = usageProposed.withLock { m -> Bool in
            if let last = m[credential.username], now - last < Self.usageIntervalMillis { return false }
            if m.count >= 10_000 { m.removeAll(keepingCapacity: true) }
            m[credential.username] = now
            return true
        }
        guard due else { return }
        log.propose(.registry(.credential(.used(username: credential.username, at: now, ip: ip)))) { _ in }
    }

    /// Replaces a weaker stored hash with one at `iterations` (once at a time per user), on a
    /// background queue. Never blocks the caller.
    private func rehash(_ username: String, old: String, password: String) {
        guard rehashing.withLock({ $0.insert(username).inserted }) else { return }
        let iterations = self.iterations
        DispatchQueue.global(qos: .utility).async { [self] in
            defer { _ = rehashing.withLock { $0.remove(username) } }
            guard let stronger = try? PasswordHasher.hash(password, iterations: iterations) else { return }
            log.propose(.registry(.credential(.rehash(username: username, old: old, new: stronger)))) { [logger] result in
                if case .success = result { logger.log(.info, "credential rehashed", ["user": username, "iterations": String(iterations)]) }
            }
        }
    }
}
