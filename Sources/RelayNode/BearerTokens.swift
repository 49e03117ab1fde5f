import Foundation
import Registry
import RelayConfig
import SendarixCrypto
import Synchronization

/// Verifies the JWT bearer tokens of AUTH XOAUTH2/OAUTHBEARER against `oauth.jwksFile`, re-read
/// when the file's modification time or size changes (looked at most once a second), and maps a
/// token to a tenant and credential through the configured claims. Verification takes
/// microseconds; the file is read at most once a second. Thread-safe.
final class BearerTokens: Sendable {
    let config: RelayConfig.OAuth
    let logger: NodeLogger
    private struct Loaded {
        var checkedAt: Double = 0
        var stamp: String = ""
        var keys = JSONWebKeySet()
    }
    private let loaded = Mutex(Loaded())

    init?(config: RelayConfig.OAuth, logger: NodeLogger) {
        guard config.enabled else { return nil }
        self.config = config
        self.logger = logger
    }

    /// The keys now in force (re-reading the file when it changed). Any thread; blocks for a stat
    /// at most once a second and a read when the file changed.
    func keys(now: Double = Date().timeIntervalSince1970) -> JSONWebKeySet {
        guard let path = config.jwksFile else { return JSONWebKeySet() }
        if let k = loaded.withLock({ now - $0.checkedAt < 1 ? $0.keys : nil }) { return k }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let stamp = "\((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)/\(attributes?[.size] as? Int ?? -1)"
        if let k = loaded.withLock({ l -> JSONWebKeySet? in
            guard l.stamp == stamp else { return nil }
            l.checkedAt = now
            return l.keys
        }) { return k }
        var fresh = JSONWebKeySet()
        do {
            fresh = try JSONWebKeySet(json: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            logger.log(.info, "jwks loaded", ["file": path, "keys": String(fresh.keys.count),
                                              "skipped": fresh.skipped.joined(separator: "; ")])
        } catch {
            logger.log(.error, "jwks unreadable", ["file": path, "error": "\(error)"])
            // Keep the previous keys when the new file cannot be read (e.g. half written).
            if let previous = loaded.withLock({ $0.stamp.isEmpty ? nil : $0.keys }) { fresh = previous }
        }
        loaded.withLock { $0 = Loaded(checkedAt: now, stamp: stamp, keys: fresh) }
        return fresh
    }

    /// What a token is worth.
    enum Outcome: Equatable {
        /// Log in as `user` of `tenant`.
        case success(user: String, tenant: String)
        case failure(String)
        case refused(String)
    }

    /// Verifies `token` and maps it: the tenant claim is required; the credential claim, when
    /// present, must name an active credential of that tenant in `credentials`, whose allowed
    /// networks (if any) contain `clientIP`; its use is recorded.
    func verify(_ token: String, credentials: Credentials?, clientIP: IPAddress?,
                now: Double = Date().timeIntervalSince1970) -> Outcome {
        let policy = JSONWebToken.Policy(issuer: config.issuer, audience: config.audience,
                                         clockSkewSeconds: Int64(config.clockSkewSeconds))
        let claims: JSONWebToken.Claims
        switch JSONWebToken.verify(token, keys: keys(now: now), policy: policy, now: Int64(now)) {
        case .success(let c): claims = c
        case .failure(let why): return .failure(why.description)
        }
        guard let tenant = claims.strings[config.tenantClaim], !tenant.isEmpty else {
            return .failure("token has no \(config.tenantClaim) claim")
        }
        guard let name = claims.strings[config.credentialClaim] else {
            return .success(user: "oauth:" + (claims.subject ?? tenant), tenant: tenant)
        }
        guard let c = credentials?.record(name), c.tenant == tenant else {
            return .failure("credential \(name) of tenant \(tenant) does not exist")
        }
        let networks = c.allowedNetworks.compactMap { IPNetwork($0) }
        if !networks.isEmpty {
            guard let ip = clientIP, networks.contains(where: { $0.contains(ip) }) else {
                return .failure("credential \(name) may not log in from \(clientIP?.description ?? "an unknown address")")
            }
        }
        if c.state == .suspended { return .refused("Credential suspended: " + c.stateReason) }
        credentials?.noteUse(c, ip: clientIP?.description ?? "", now: Int64(now * 1000))
        return .success(user: c.username, tenant: c.tenant)
    }
}
