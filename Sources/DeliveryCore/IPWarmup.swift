/// Source IP selection with warm-up: pools of local source addresses, each new ("cold") address
/// with a daily message cap that grows on a schedule (day 1, day 2, ...) until it is warm, and
/// per-provider blocks and deprioritisation (e.g. after `AdaptiveThrottle` suspends an IP).
///
/// `choose` skips IPs blocked for the provider or at their daily cap, prefers IPs not
/// deprioritised, then the least-used relative to its cap. Cold IPs never take failover traffic
/// (mail retried after another IP failed), which would spoil their young reputation. Days are UTC
/// days derived from the `now` passed in (seconds since the epoch). Pure value; not thread-safe,
/// owned by the delivery scheduler.
public struct IPWarmup: Sendable {
    /// A source address in a pool.
    public struct SourceIP: Sendable, Equatable {
        /// The local address to bind, e.g. "192.0.2.10" or "2001:db8::10".
        public var address: String
        /// When warm-up began (seconds since the epoch), or nil for an address that is already warm.
        public var warmupStartedAt: Double?

        /// Creates a source IP. Pure; any caller.
        public init(_ address: String, warmupStartedAt: Double? = nil) {
            self.address = address
            self.warmupStartedAt = warmupStartedAt
        }
    }

    /// Daily caps during warm-up: `dailyCaps[d]` messages on warm-up day d (0-based); after the
    /// last day the IP is warm and uncapped.
    public var dailyCaps: [Int]
    /// Pools by name (e.g. "transactional", "marketing").
    public private(set) var pools: [String: [SourceIP]] = [:]

    private struct ProviderKey: Hashable, Sendable {
        var address: String
        var provider: Provider
    }

    private var sentDay: [String: Int] = [:]
    private var sentCount: [String: Int] = [:]
    private var blockedUntil: [ProviderKey: Double] = [:]
    private var deprioritisedUntil: [ProviderKey: Double] = [:]

    /// A conventional schedule: 50, 100, 500, 1k, 5k, 10k, 20k, 40k, 70k, 100k, 150k, 250k per day.
    public static let defaultDailyCaps = [50, 100, 500, 1_000, 5_000, 10_000, 20_000, 40_000, 70_000, 100_000, 150_000, 250_000]

    /// Creates an empty selector with `dailyCaps`. Pure; any caller.
    public init(dailyCaps: [Int] = IPWarmup.defaultDailyCaps) {
        self.dailyCaps = dailyCaps
    }

    /// Adds or replaces pool `name`. Pure; the owner calls it.
    public mutating func setPool(_ name: String, _ ips: [SourceIP]) {
        pools[name] = ips
    }

    /// The daily cap of `ip` at `now`, or nil when it is warm (uncapped). Pure; any caller.
    public func dailyCap(of ip: SourceIP, now: Double) -> Int? {
        guard let started = ip.warmupStartedAt else { return nil }
        let day = max(0, IPWarmup.day(now) - IPWarmup.day(started))
        return day < dailyCaps.count ? dailyCaps[day] : nil
    }

    /// True while `ip` is still within its warm-up schedule. Pure; any caller.
    public func isCold(_ ip: SourceIP, now: Double) -> Bool {
        dailyCap(of: ip, now: now) != nil
    }

    /// Messages counted for `address` on the UTC day of `now`. Pure; any caller.
    public func sentToday(_ address: String, now: Double) -> Int {
        sentDay[address] == IPWarmup.day(now) ? sentCount[address, default: 0] : 0
    }

    /// Chooses a source address from `pool` for `provider` at `now`; `isFailover` marks traffic that
    /// already failed on another IP. Returns nil when no address may send (all blocked, capped,
    /// or cold for failover). Does not count the message: call `recordSent`. Pure; any caller.
    public func choose(pool: String, provider: Provider, now: Double, isFailover: Bool = false,
                       excluding excluded: Set<String> = []) -> String? {
        guard let ips = pools[pool] else { return nil }
        var best: (rank: Int, load: Double, address: String)?
        for ip in ips where !excluded.contains(ip.address) {
            let key = ProviderKey(address: ip.address, provider: provider)
            if let until = blockedUntil[key], now < until { continue }
            let cap = dailyCap(of: ip, now: now)
            if cap != nil, isFailover { continue }
            let sent = sentToday(ip.address, now: now)
            if let cap, sent >= cap { continue }
            let rank = (deprioritisedUntil[key].map { now < $0 } ?? false) ? 1 : 0
            // Warm IPs compare by count against the largest cap; cold ones against their own cap.
            let load = Double(sent) / Double(max(cap ?? dailyCaps.last ?? 1, 1))
            let candidate = (rank: rank, load: load, address: ip.address)
            if best == nil || candidate < best! { best = candidate }
        }
        return best?.address
    }

    /// True when `pool` has an address past its warm-up at `now` (blocks not considered). Pure.
    public func hasWarmAddress(pool: String, now: Double) -> Bool {
        pools[pool]?.contains { dailyCap(of: $0, now: now) == nil } ?? false
    }

    /// Counts one message sent from `address` at `now`. Pure; the owner calls it.
    public mutating func recordSent(_ address: String, now: Double, count: Int = 1) {
        let today = IPWarmup.day(now)
        if sentDay[address] != today {
            sentDay[address] = today
            sentCount[address] = 0
        }
        sentCount[address, default: 0] += count
    }

    /// Keeps `address` away from `provider` until `until`. Pure; the owner calls it.
    public mutating func block(_ address: String, for provider: Provider, until: Double) {
        blockedUntil[ProviderKey(address: address, provider: provider)] = until
    }

    /// Uses `address` for `provider` only when no other address can until `until`. Pure.
    public mutating func deprioritise(_ address: String, for provider: Provider, until: Double) {
        deprioritisedUntil[ProviderKey(address: address, provider: provider)] = until
    }

    /// Lifts blocks and deprioritisation of `address` for `provider`. Pure; the owner calls it.
    public mutating func clear(_ address: String, for provider: Provider) {
        let key = ProviderKey(address: address, provider: provider)
        blockedUntil[key] = nil
        deprioritisedUntil[key] = nil
    }

    private static func day(_ time: Double) -> Int {
        Int((time / 86_400).floorInt64)
    }
}
