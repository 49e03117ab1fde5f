import Dispatch
import Foundation
import RelayConfig
import SMTPCore
import Synchronization

/// Checks SMTP AUTH credentials off the event loops (PBKDF2 is deliberately slow) and throttles
/// clients that keep failing (`policy.maxAuthFailuresPerIP` within `policy.authFailureWindowSeconds`).
/// Thread-safe; `verify` never blocks the caller.
final class AuthService: Sendable {
    private let authenticator: Authenticator?
    private let throttle: Mutex<AuthThrottle>
    private let logger: NodeLogger
    private let queue = DispatchQueue(label: "sendarix.auth", qos: .userInitiated, attributes: .concurrent)

    init(config: RelayConfig, logger: NodeLogger) {
        self.logger = logger
        do {
            authenticator = try Authenticator(users: config.users)
        } catch {
            logger.log(.error, "auth disabled", ["error": "\(error)"])
            authenticator = nil
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
        guard let authenticator else {
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
}
