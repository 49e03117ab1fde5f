import RelayConfig
import Synchronization

/// Counts live SMTP connections per client and in total, across all loops. A client is an IPv4
/// address, or an IPv6 prefix of `ipv6PrefixLength` bits (`policy.ipv6PrefixLength`, default /64),
/// so that a host cannot multiply its share by rotating through its /64. Thread-safe.
final class ConnectionLimiter: Sendable {
    /// The verdict for a new connection.
    enum Verdict: Equatable { case ok, tooManyFromIP, tooManyTotal }

    private struct Counts {
        var perClient: [String: Int] = [:]
        var total = 0
    }

    private let counts = Mutex(Counts())
    private let perIPLimit: Int
    private let totalLimit: Int
    private let ipv6PrefixLength: Int

    init(perIP: Int, total: Int, ipv6PrefixLength: Int = 64) {
        perIPLimit = perIP
        totalLimit = total
        self.ipv6PrefixLength = ipv6PrefixLength
    }

    /// The key `ip` (text) is counted under; text that is not an address counts as itself.
    func key(_ ip: String) -> String {
        IPAddress(ip).map { $0.clientKey(ipv6PrefixLength: ipv6PrefixLength).description } ?? ip
    }

    /// Takes a slot for `ip` unless a limit is reached. Each `.ok` must be paired with `release`.
    func acquire(ip: String) -> Verdict {
        let client = key(ip)
        return counts.withLock { c in
            if c.total >= totalLimit { return .tooManyTotal }
            let n = c.perClient[client, default: 0]
            if n >= perIPLimit { return .tooManyFromIP }
            c.perClient[client] = n + 1
            c.total += 1
            return .ok
        }
    }

    /// Returns a slot taken by `acquire`.
    func release(ip: String) {
        let client = key(ip)
        counts.withLock { c in
            c.total -= 1
            let n = c.perClient[client, default: 1] - 1
            c.perClient[client] = n > 0 ? n : nil
        }
    }
}
