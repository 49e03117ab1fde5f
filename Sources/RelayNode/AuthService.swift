import Dispatch
import Foundation
import RelayConfig
import SMTPCore
import Synchronization

/// Checks SMTP AUTH credentials off the event loops (PBKDF2 is deliberately slow) and throttles
/// clients that keep failing (`policy.maxAuthFailuresPerIP` within `policy.authFailureWindowSeconds`).
/// Thread-safe; `verify` never blocks the caller.
final class AuthService: Sendable {
    /// Replaced as a whole by `replaceUsers` (SIGHUP); a check in progress keeps the one it read.
    private let authenticator: Mutex<Authenticator?>
    private let throttle: Mutex<AuthThrottle>
    private let logger: NodeLogger
    private let queue = DispatchQueue(label: "sendarix.auth", qos: .userInitiated, attributes: .concurrent)

    init(config: RelayConfig, logger: NodeLogger) {
        self.logger = logger
        do {
            authenticator = Mutex(try Authenticator(users: config.users))
        } catch {
            logger.log(.error, "auth disabled", ["error": "\(error)"])
            authenticator = Mutex(nil)
        }
        throttle = Mutex(AuthThrottle(maxFailures: max(1, config.policy.maxAuthFailuresPerIP),
                                      window: Double(max(1, config.policy.authFailureWindowSeconds))))
    }

    /// Verifies on a worker thread and calls `completion` there with the session's result.
    func verify(username: String, password: String, clientIP: String,
                completion: @escaping @Sendable (SMTPSession.AuthResult) -> Void) {
        let ip = IPAddress(clientIP)
        let now = Date().timeIntervalSince1970
        if let ip, throttle.withLock({ $0.isThrottled(ip, now: now) }) {
            logger.log(.warning, "auth throttled", ["client": clientIP, "user": username])
            completion(.throttled)
            return
        }
        guard let authenticator = authenticator.withLock({ $0 }) else {
            completion(.temporaryFailure)
            return
        }
        queue.async { [self] in
            switch authenticator.verify(user: username, password: password, clientIP: ip) {
            case .success(let user, let tenant):
                completion(.success(user: user, tenant: tenant))
            case .failure(let why):
                if let ip { self.throttle.withLock { $0.recordFailure(from: ip, now: Date().timeIntervalSince1970) } }
                logger.log(.info, "auth failed", ["client": clientIP, "user": username, "why": why.rawValue])
                completion(.failure)
            }
        }
    }

    /// Switches to `users` (a reloaded configuration's) for every later AUTH, keeping the login
    /// cache for unchanged password hashes; sessions already authenticated stay so. Blocks for one
    /// PBKDF2 run only when AUTH was disabled. Throws when the authenticator cannot be built (the
    /// old users stay in force). Any thread.
    func replaceUsers(_ users: [RelayConfig.User]) throws {
        let current = authenticator.withLock { $0 }
        let fresh = try current?.replacingUsers(users) ?? Authenticator(users: users)
        authenticator.withLock { $0 = fresh }
    }
}
