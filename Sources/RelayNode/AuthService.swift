import Dispatch
import Foundation
import RelayConfig
import SMTPCore
import Synchronization

/// Checks SMTP AUTH credentials off the event loops (PBKDF2 is deliberately slow) and throttles
/// clients that keep failing (`policy.maxAuthFailuresPerIP` within `policy.authFailureWindowSeconds`).
///
/// Checks run on a fixed pool of one thread per core with at most `limits.maxPendingAuth` checks
/// waiting; past that an attempt is answered at once with a temporary failure (`454 4.7.0`,
/// counted in `overloaded`) instead of queueing without bound behind a flood of AUTH attempts.
/// Thread-safe; `verify` never blocks the caller.
final class AuthService: Sendable {
    /// Replaced as a whole by `replaceUsers` (SIGHUP); a check in progress keeps the one it read.
    private let authenticator: Mutex<Authenticator?>
    private let throttle: Mutex<AuthThrottle>
    let logger: NodeLogger
    private let pool: WorkerPool
    private let overloadCount = Atomic<Int>(0)
    private let managed = Mutex<Credentials?>(nil)
    /// Bearer-token verification (`oauth`), nil when not configured.
    let bearer: BearerTokens?

    /// The config file's users now in force.
    var configAuthenticator: Authenticator? { authenticator.withLock { $0 } }

    /// API-managed credentials, checked after the config file's users. Set once at start.
    var credentials: Credentials? {
        get { managed.withLock { $0 } }
        set { managed.withLock { $0 = newValue } }
    }

    /// AUTH attempts refused because every verification thread was busy and the queue full.
    var overloaded: Int { overloadCount.load(ordering: .relaxed) }

    init(config: RelayConfig, logger: NodeLogger) {
        self.logger = logger
        bearer = BearerTokens(config: config.oauth, logger: logger)
        do {
            authenticator = Mutex(try Authenticator(users: config.users))
        } catch {
            logger.log(.error, "auth disabled", ["error": "\(error)"])
            authenticator = Mutex(nil)
        }
        throttle = Mutex(AuthThrottle(maxFailures: max(1, config.policy.maxAuthFailuresPerIP),
                                      window: Double(max(1, config.policy.authFailureWindowSeconds)),
                                      ipv6PrefixLength: config.policy.ipv6PrefixLength))
        pool = WorkerPool(threads: max(1, ProcessInfo.processInfo.activeProcessorCount),
                          queueLimit: max(0, config.limits.maxPendingAuth))
    }

    /// Verifies on a pool thread and calls `completion` there with the session's result, or at
    /// once on the caller's thread when the client is throttled or the pool is saturated.
    func verify(username: String, password: String, clientIP: String, mechanism: String = "PLAIN",
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
        let accepted = pool.submit { [self] in
            if let result = checkManaged(mechanism: mechanism, username: username, password: password, ip: ip,
                                         authenticator: authenticator) {
                if result == .failure, let ip { self.throttle.withLock { $0.recordFailure(from: ip, now: Date().timeIntervalSince1970) } }
                return completion(result)
            }
            switch authenticator.verify(user: username, password: password, clientIP: ip) {
            case .success(let user, let tenant):
                completion(.success(user: user, tenant: tenant))
            case .failure(let why):
                if let ip { self.throttle.withLock { $0.recordFailure(from: ip, now: Date().timeIntervalSince1970) } }
                logger.log(.info, "auth failed", ["client": clientIP, "user": username, "why": why.rawValue])
                completion(.failure)
            }
        }
        if !accepted {
            let n = overloadCount.add(1, ordering: .relaxed).newValue
            logger.log(.warning, "auth overloaded", ["client": clientIP, "user": username, "refused": String(n)])
            completion(.temporaryFailure)
        }
    }

    /// Switches to `users` (a reloaded configuration's) for every later AUTH, keeping the login
    /// cache for unchanged password hashes; sessions already authenticated stay so. Throws when the
    /// authenticator cannot be built (the old users stay in force). Any thread.
    func replaceUsers(_ users: [RelayConfig.User]) throws {
        let current = authenticator.withLock { $0 }
        let fresh = try current?.replacingUsers(users) ?? Authenticator(users: users)
        authenticator.withLock { $0 = fresh }
    }

    /// A fixed set of threads running jobs from a bounded queue. Threads live as long as the
    /// process. Thread-safe.
    final class WorkerPool: Sendable {
        private struct Queue {
            var jobs: [@Sendable () -> Void] = []
            var head = 0
            var waiting: Int { jobs.count - head }
        }

        let queueLimit: Int
        private static let taken: @Sendable () -> Void = {}
        private let queue = Mutex(Queue())

        /// Slots held by the queue, taken jobs not yet compacted away included (for tests).
        var storedJobs: Int { queue.withLock { $0.jobs.count } }
        private let ready = DispatchSemaphore(value: 0)
        private let idle: Atomic<Int>

        /// Starts `threads` threads; at most `queueLimit` jobs may wait beyond the ones running.
        init(threads: Int, queueLimit: Int) {
            self.queueLimit = queueLimit
            idle = Atomic(threads)
            for i in 0..<threads {
                let thread = Thread { [self] in self.run() }
                thread.name = "sendarix-auth-\(i)"
                thread.start()
            }
        }

        /// Queues `job` and returns true, or returns false (and drops it) when every thread is busy
        /// and `queueLimit` jobs already wait. Never blocks.
        func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
            let accepted = queue.withLock { q -> Bool in
                // Jobs not yet picked up by a thread beyond the idle threads are the backlog.
                guard q.waiting - idle.load(ordering: .relaxed) < queueLimit else { return false }
                q.jobs.append(job)
                return true
            }
            if accepted { ready.signal() }
            return accepted
        }

        private func run() {
            while true {
                ready.wait()
                let job = queue.withLock { q -> (@Sendable () -> Void)? in
                    guard q.head < q.jobs.count else { return nil }
                    let job = q.jobs[q.head]
                    // Release the taken job's captures (the password, the session's handler) now,
                    // not when the array is next compacted: up to a thousand finished checks, and
                    // the closed sessions they reference, stayed alive that way.
                    q.jobs[q.head] = Self.taken
                    q.head += 1
                    if q.head == q.jobs.count {
                        q.jobs.removeAll(keepingCapacity: q.jobs.capacity <= 1024)
                        q.head = 0
                    } else if q.head > 1024 && q.head * 2 > q.jobs.count {
                        q.jobs.removeSubrange(0..<q.head)
                        q.head = 0
                    }
                    idle.subtract(1, ordering: .relaxed)
                    return job
                }
                job?()
                if job != nil { idle.add(1, ordering: .relaxed) }
            }
        }
    }
}
