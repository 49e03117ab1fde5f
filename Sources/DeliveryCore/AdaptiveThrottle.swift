/// Backs off a provider for one source IP when the provider pushes back (rate-limit or reputation
/// deferrals such as Gmail's 421 4.7.28 "unusual rate", Yahoo `[TSS04]`/`[TS0x]`, Microsoft
/// 4.7.500-699 or "block list"): each signal raises a level that halves the allowed rates and
/// connections; from `suspendLevel` on, sending is suspended for a period that doubles with each
/// further level. Without new signals the level falls back one step per `recoveryInterval`
/// (counted from the end of any suspension), so the sender recovers gradually.
///
/// Signals that arrive within `coalesceWindow` of the previous raise count once, because many
/// parallel connections usually see the same deferral together (a permanent reputation block
/// still suspends at once). Time is passed in (seconds since
/// the epoch). Pure value; not thread-safe, owned by the delivery scheduler.
public struct AdaptiveThrottle: Sendable {
    /// Tunables.
    public struct Configuration: Sendable, Equatable {
        /// Rate and connection multiplier per level (0.5 halves per level).
        public var slowdownFactor: Double
        /// Smallest multiplier applied before suspension.
        public var minimumFactor: Double
        /// The level at which sending is suspended.
        public var suspendLevel: Int
        /// First suspension length (seconds); doubles for each level above `suspendLevel`.
        public var suspendDuration: Double
        /// Longest suspension (seconds).
        public var maxSuspendDuration: Double
        /// Time without signals after which the level drops by one (seconds).
        public var recoveryInterval: Double
        /// Signals within this many seconds of the previous raise are ignored.
        public var coalesceWindow: Double
        /// Levels added by a rate-limit deferral.
        public var rateLimitStep: Int
        /// Levels added by a reputation block (4xx); 5xx reputation blocks suspend at once.
        public var reputationStep: Int

        /// Creates a configuration. Pure; any caller.
        public init(slowdownFactor: Double = 0.5, minimumFactor: Double = 0.05, suspendLevel: Int = 4,
                    suspendDuration: Double = 900, maxSuspendDuration: Double = 4 * 3_600,
                    recoveryInterval: Double = 600, coalesceWindow: Double = 30,
                    rateLimitStep: Int = 1, reputationStep: Int = 2) {
            self.slowdownFactor = slowdownFactor
            self.minimumFactor = minimumFactor
            self.suspendLevel = max(1, suspendLevel)
            self.suspendDuration = suspendDuration
            self.maxSuspendDuration = maxSuspendDuration
            self.recoveryInterval = max(1, recoveryInterval)
            self.coalesceWindow = coalesceWindow
            self.rateLimitStep = rateLimitStep
            self.reputationStep = reputationStep
        }
    }

    /// One provider as seen from one source IP.
    public struct Key: Sendable, Hashable {
        /// The receiving provider.
        public var provider: Provider
        /// The local source address used to send.
        public var sourceIP: String

        /// Creates a key. Pure; any caller.
        public init(_ provider: Provider, _ sourceIP: String) {
            self.provider = provider
            self.sourceIP = sourceIP
        }
    }

    /// The current restriction for a key.
    public enum Status: Sendable, Equatable {
        /// No restriction.
        case normal
        /// Rates and connections are multiplied by `factor` (0 < factor < 1).
        case slowed(factor: Double, level: Int)
        /// Nothing may be sent until `until`.
        case suspended(until: Double)
    }

    private struct Entry: Sendable {
        var level: Int
        var lastRaise: Double
        var suspendedUntil: Double
    }

    /// Tunables in use.
    public var configuration: Configuration
    private var entries: [Key: Entry] = [:]

    /// Creates a throttle with no restrictions. Pure; any caller.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Feeds the outcome of an attempt for `key` at `now`. Rate-limit and reputation failures raise
    /// the level (a 5xx reputation block named by a phrase rule jumps straight to suspension; one
    /// only the learned model guessed does not); anything else is ignored.
    /// Returns the status after the update. Pure; the delivery scheduler calls it.
    @discardableResult
    public mutating func record(_ classification: BounceClassification, for key: Key, now: Double) -> Status {
        guard classification.isThrottleSignal else { return status(for: key, now: now) }
        var entry = entries[key] ?? Entry(level: 0, lastRaise: -.infinity, suspendedUntil: 0)
        let current = effectiveLevel(entry, now: now)
        // A hard reputation block a phrase rule names suspends at once; one the learned model only
        // guessed (rule "model-…", e.g. a bare "550 5.7.1 sender refused") raises the level like a
        // soft one: a guess slows the provider down, evidence stops it.
        let evidence = classification.bounceClass == .reputationBlock && classification.hardness == .hard
            && !classification.rule.hasPrefix("model-")
        let escalates = evidence && now >= entry.suspendedUntil
        if now - entry.lastRaise < configuration.coalesceWindow, current > 0, !escalates {
            return status(for: key, now: now)
        }
        var level = current
        if classification.bounceClass == .reputationBlock {
            level = evidence
                ? max(level + configuration.reputationStep, configuration.suspendLevel)
                : level + configuration.reputationStep
        } else {
            level += configuration.rateLimitStep
        }
        level = min(level, configuration.suspendLevel + 16)
        entry.level = level
        entry.lastRaise = now
        if level >= configuration.suspendLevel {
            let exponent = Double(level - configuration.suspendLevel)
            let duration = min(configuration.suspendDuration * pow2(exponent), configuration.maxSuspendDuration)
            entry.suspendedUntil = max(entry.suspendedUntil, now + duration)
        }
        entries[key] = entry
        return status(for: key, now: now)
    }

    /// The restriction in force for `key` at `now`. Pure; any caller.
    public func status(for key: Key, now: Double) -> Status {
        guard let entry = entries[key] else { return .normal }
        if now < entry.suspendedUntil { return .suspended(until: entry.suspendedUntil) }
        let level = min(effectiveLevel(entry, now: now), configuration.suspendLevel - 1)
        guard level > 0 else { return .normal }
        let factor = max(pow2(Double(level), base: configuration.slowdownFactor), configuration.minimumFactor)
        return .slowed(factor: factor, level: level)
    }

    /// `policy` scaled by the restriction in force for `key` at `now`, or nil while suspended.
    /// Connections and rates are multiplied by the factor (at least one connection). Pure.
    public func apply(_ policy: ShapingPolicy, for key: Key, now: Double) -> ShapingPolicy? {
        switch status(for: key, now: now) {
        case .normal:
            return policy
        case .suspended:
            return nil
        case .slowed(let factor, _):
            var result = policy
            result.maxConnections = max(1, Int((Double(policy.maxConnections) * factor).floorInt64))
            result.messagesPerSecond = policy.messagesPerSecond * factor
            result.connectionsPerSecond = policy.connectionsPerSecond * factor
            return result
        }
    }

    /// Forgets keys whose level has decayed to zero by `now` (call now and then to bound memory).
    /// Pure; the owner calls it.
    public mutating func prune(now: Double) {
        entries = entries.filter { now < $0.value.suspendedUntil || effectiveLevel($0.value, now: now) > 0 }
    }

    /// Number of keys currently tracked. Pure; any caller.
    public var trackedCount: Int { entries.count }

    private func effectiveLevel(_ entry: Entry, now: Double) -> Int {
        let quietSince = max(entry.lastRaise, entry.suspendedUntil)
        guard now > quietSince else { return entry.level }
        let steps = Int(((now - quietSince) / configuration.recoveryInterval).floorInt64)
        return max(0, entry.level - steps)
    }

    private func pow2(_ exponent: Double, base: Double = 2) -> Double {
        var result = 1.0
        var remaining = Int(exponent)
        while remaining > 0 {
            result *= base
            remaining -= 1
        }
        return result
    }
}
