import Synchronization

/// Counts live SMTP connections per client IP and in total, across all loops. Thread-safe.
final class ConnectionLimiter: Sendable {
    /// The verdict for a new connection.
    enum Verdict: Equatable { case ok, tooManyFromIP, tooManyTotal }

    private struct Counts {
        var perIP: [String: Int] = [:]
        var total = 0
    }

    private let counts = Mutex(Counts())
    private let perIPLimit: Int
    private let totalLimit: Int

    init(perIP: Int, total: Int) {
        perIPLimit = perIP
        totalLimit = total
    }

    /// Takes a slot for `ip` unless a limit is reached. Each `.ok` must be paired with `release`.
    func acquire(ip: String) -> Verdict {
        counts.withLock { c in
            if c.total >= totalLimit { return .tooManyTotal }
            let n = c.perIP[ip, default: 0]
            if n >= perIPLimit { return .tooManyFromIP }
            c.perIP[ip] = n + 1
            c.total += 1
            return .ok
        }
    }

    /// Returns a slot taken by `acquire`.
    func release(ip: String) {
        counts.withLock { c in
            c.total -= 1
            let n = c.perIP[ip, default: 1] - 1
            c.perIP[ip] = n > 0 ? n : nil
        }
    }
}
