/// Per-client throttle for failed AUTH attempts: after `maxFailures` failures within `window` seconds
/// a client is throttled until the oldest of those failures is `window` seconds old.
///
/// Pure value with injected time (`now` in seconds on any monotonic clock); no locking, so the owner
/// (one event loop, or behind a lock) serialises access. IPv6 clients are grouped by their prefix of
/// `ipv6PrefixLength` bits (default /64, since one host usually controls a whole /64); IPv4 clients
/// count per address. Memory is bounded by `maxTrackedClients`.
public struct AuthThrottle: Sendable {
    /// Failures allowed within the window before throttling.
    public let maxFailures: Int
    /// Window length in seconds.
    public let window: Double
    /// Upper bound on remembered clients; the stalest are evicted beyond it.
    public let maxTrackedClients: Int
    /// IPv6 clients sharing a prefix of this many bits count as one client.
    public let ipv6PrefixLength: Int

    /// Recent failure times per client key, oldest first, at most `maxFailures` long.
    private(set) var failures: [IPAddress: [Double]] = [:]

    /// Creates a throttle; e.g. `AuthThrottle(maxFailures: policy.maxAuthFailuresPerIP,
    /// window: Double(policy.authFailureWindowSeconds))`.
    public init(maxFailures: Int, window: Double, maxTrackedClients: Int = 100_000, ipv6PrefixLength: Int = 64) {
        precondition(maxFailures >= 1 && window > 0 && maxTrackedClients >= 1)
        self.maxFailures = maxFailures
        self.window = window
        self.maxTrackedClients = maxTrackedClients
        self.ipv6PrefixLength = ipv6PrefixLength
    }

    /// The key a client is counted under (`IPAddress.clientKey(ipv6PrefixLength:)`).
    public func clientKey(_ ip: IPAddress) -> IPAddress {
        ip.clientKey(ipv6PrefixLength: ipv6PrefixLength)
    }

    /// Records one failed attempt from `ip` at `now`.
    public mutating func recordFailure(from ip: IPAddress, now: Double) {
        let key = clientKey(ip)
        var list = failures[key] ?? []
        list.removeAll { $0 <= now - window }
        list.append(now)
        if list.count > maxFailures { list.removeFirst(list.count - maxFailures) }
        failures[key] = list
        if failures.count > maxTrackedClients { evict(now: now) }
    }

    /// True if `ip` must not try AUTH at `now`.
    public func isThrottled(_ ip: IPAddress, now: Double) -> Bool {
        retryAfter(ip, now: now) != nil
    }

    /// Seconds until `ip` may try again, or nil when it is not throttled.
    public func retryAfter(_ ip: IPAddress, now: Double) -> Double? {
        guard let list = failures[clientKey(ip)], list.count >= maxFailures else { return nil }
        let until = list[list.count - maxFailures] + window
        return until > now ? until - now : nil
    }

    /// Forgets failures older than the window (call periodically, e.g. once a minute).
    public mutating func prune(now: Double) {
        failures = failures.compactMapValues { list in
            let kept = list.filter { $0 > now - window }
            return kept.isEmpty ? nil : kept
        }
    }

    /// Number of clients currently remembered.
    public var trackedClients: Int { failures.count }

    private mutating func evict(now: Double) {
        prune(now: now)
        guard failures.count > maxTrackedClients else { return }
        // Drop the clients whose latest failure is oldest, down to 90% so eviction stays rare.
        let target = max(1, maxTrackedClients * 9 / 10)
        let ordered = failures.sorted { ($0.value.last ?? 0) < ($1.value.last ?? 0) }
        for (key, _) in ordered.prefix(failures.count - target) { failures[key] = nil }
    }
}
