import Foundation
import RelayConfig
import SMTPCore
import SendarixSupport

extension AuthService {
    /// Checks logins that are not the config file's: bearer tokens (XOAUTH2/OAUTHBEARER) and
    /// API-managed credentials. nil: `username` is a config-file user or unknown, for the
    /// `Authenticator` to answer. Blocks for PBKDF2; runs on the pool.
    func checkManaged(mechanism: String, username: String, password: String, ip: IPAddress?,
                      authenticator: Authenticator) -> SMTPSession.AuthResult? {
        let credentials = self.credentials
        if mechanism == "XOAUTH2" || mechanism == "OAUTHBEARER" {
            guard let bearer else { return .failure }
            switch bearer.verify(password, credentials: credentials, clientIP: ip) {
            case .success(let user, let tenant): return .success(user: user, tenant: tenant)
            case .refused(let reason): return .refused(reason: reason)
            case .failure(let why):
                logger.log(.info, "auth failed", ["client": ip?.description ?? "", "user": username, "mechanism": mechanism, "why": why])
                return .failure
            }
        }
        guard !authenticator.hasUser(username), let credentials, let c = credentials.record(username) else { return nil }
        switch credentials.verify(c, password: password, clientIP: ip, now: WallClock.nowMillis()) {
        case .success(let c): return .success(user: c.username, tenant: c.tenant)
        case .refused(let reason):
            logger.log(.info, "auth refused", ["client": ip?.description ?? "", "user": username, "why": reason])
            return .refused(reason: reason)
        case .failure(let why):
            logger.log(.info, "auth failed", ["client": ip?.description ?? "", "user": username, "why": why])
            return .failure
        }
    }
}

extension AuthService {
    /// True when `user` is a user of the config file (which wins over a credential of that name).
    func isConfigUser(_ user: String) -> Bool { configAuthenticator?.hasUser(user) ?? false }
}
