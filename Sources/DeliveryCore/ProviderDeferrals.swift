/// What a provider's deferrals have taught the scheduler, kept per provider and source address:
/// a **rate limit** (Gmail 4.7.28, Yahoo `[TSS04]`, "too many connections", Microsoft RP-00x)
/// slows that provider for every source address — the provider limits the sender, and moving the
/// traffic to another address would only spread the problem — while other providers keep their
/// pace. A **reputation / IP block** (Yahoo `[TSS09]`, Spamhaus listings, Microsoft S3150)
/// deprioritises that source address for that provider only: the pair is slowed (suspended after a
/// permanent block) and `record` tells the caller to move the provider's traffic to the pool's
/// other addresses until the block has had time to lift. Nothing else changes the pace.
///
/// Levels, coalescing and recovery are `AdaptiveThrottle`'s. Time is passed in (seconds since the
/// epoch). Pure value; not thread-safe, owned by the delivery scheduler.
public struct ProviderDeferrals: Sendable {
    /// What the caller should do after a failure was recorded.
    public enum Reaction: Sendable, Equatable {
        /// Not a deferral signal: nothing changes.
        case none
        /// The provider was slowed for all source addresses; keep using this one.
        case slowProvider
        /// Prefer the pool's other addresses for this provider until `until`; `blocked` when this
        /// address should not be used for the provider at all until then (permanent block).
        case avoidSource(blocked: Bool, until: Double)
    }

    /// The underlying levels (keys: provider-wide `*|scope`, per source `source|scope`).
    public private(set) var throttle: AdaptiveThrottle
    private var avoided: [AdaptiveThrottle.Key: Double] = [:]

    /// Creates an empty record with `configuration` for the levels. Pure; any caller.
    public init(configuration: AdaptiveThrottle.Configuration = AdaptiveThrottle.Configuration()) {
        throttle = AdaptiveThrottle(configuration: configuration)
    }

    /// The key a provider-wide slowdown is kept under. `scope` is the provider's name for a
    /// recognised provider, else the receiving host. Pure; any caller.
    public static func providerKey(_ provider: Provider, scope: String) -> AdaptiveThrottle.Key {
        AdaptiveThrottle.Key(provider, "*|\(scope)")
    }

    /// The key a source address's standing with a provider is kept under. Pure; any caller.
    public static func sourceKey(_ provider: Provider, scope: String, source: String?) -> AdaptiveThrottle.Key {
        AdaptiveThrottle.Key(provider, "\(source ?? "default")|\(scope)")
    }

    /// Records a failed attempt to `provider` (within `scope`) from `source` at `now`, and says
    /// what the caller should do. Pure; the delivery scheduler calls it.
    public mutating func record(_ classification: BounceClassification, provider: Provider, scope: String,
                                source: String?, now: Double) -> Reaction {
        switch classification.bounceClass {
        case .rateLimited:
            throttle.record(classification, for: Self.providerKey(provider, scope: scope), now: now)
            return .slowProvider
        case .reputationBlock:
            let key = Self.sourceKey(provider, scope: scope, source: source)
            let status = throttle.record(classification, for: key, now: now)
            var until = now + throttle.configuration.recoveryInterval
            if case .suspended(let end) = status { until = max(until, end) }
            until = max(until, avoided[key] ?? 0)
            avoided[key] = until
            return .avoidSource(blocked: classification.hardness == .hard, until: until)
        default:
            return .none
        }
    }

    /// The restriction in force for sending to `provider` from `source` at `now`: the stricter of
    /// the provider-wide one and the source's own. Pure; any caller.
    public func status(_ provider: Provider, scope: String, source: String?, now: Double) -> AdaptiveThrottle.Status {
        let wide = throttle.status(for: Self.providerKey(provider, scope: scope), now: now)
        let own = throttle.status(for: Self.sourceKey(provider, scope: scope, source: source), now: now)
        switch (wide, own) {
        case (.suspended(let a), .suspended(let b)): return .suspended(until: max(a, b))
        case (.suspended, _): return wide
        case (_, .suspended): return own
        case (.slowed(let a, _), .slowed(let b, _)): return a <= b ? wide : own
        case (.slowed, .normal): return wide
        default: return own
        }
    }

    /// `policy` scaled by `status(_:scope:source:now:)`, or nil while suspended. Pure; any caller.
    public func apply(_ policy: ShapingPolicy, to provider: Provider, scope: String, source: String?,
                      now: Double) -> ShapingPolicy? {
        guard let wide = throttle.apply(policy, for: Self.providerKey(provider, scope: scope), now: now) else { return nil }
        guard let own = throttle.apply(policy, for: Self.sourceKey(provider, scope: scope, source: source), now: now) else { return nil }
        var result = wide
        result.maxConnections = min(wide.maxConnections, own.maxConnections)
        result.messagesPerSecond = min(wide.messagesPerSecond, own.messagesPerSecond)
        result.connectionsPerSecond = min(wide.connectionsPerSecond, own.connectionsPerSecond)
        return result
    }

    /// True while traffic to `provider` should avoid `source` (after an IP block). Pure; any caller.
    public func isAvoided(_ source: String?, for provider: Provider, scope: String, now: Double) -> Bool {
        now < avoided[Self.sourceKey(provider, scope: scope, source: source)] ?? 0
    }

    /// Forgets decayed levels and lifted avoidances (call now and then to bound memory). Pure.
    public mutating func prune(now: Double) {
        throttle.prune(now: now)
        avoided = avoided.filter { now < $0.value }
    }
}
