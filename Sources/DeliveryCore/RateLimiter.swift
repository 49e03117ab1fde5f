/// A token bucket: `rate` tokens per second accumulate up to `burst`; each send takes tokens.
///
/// Time is passed in (seconds since the epoch); refills are computed lazily. Pure value; not
/// thread-safe, owned by one scheduler.
public struct RateLimiter: Sendable, Equatable {
    /// Tokens added per second.
    public private(set) var rate: Double
    /// Bucket capacity.
    public private(set) var burst: Double
    private var tokens: Double
    private var updatedAt: Double

    /// Creates a full bucket at `now`. Pure; any caller.
    public init(rate: Double, burst: Double, now: Double) {
        self.rate = max(rate, 0)
        self.burst = max(burst, 1)
        self.tokens = max(burst, 1)
        self.updatedAt = now
    }

    /// Tokens available at `now`. Pure; any caller.
    public func available(now: Double) -> Double {
        guard now > updatedAt else { return tokens }
        return min(burst, tokens + (now - updatedAt) * rate)
    }

    /// Takes `count` tokens at `now` if available; false leaves the bucket unchanged. Pure.
    public mutating func tryAcquire(_ count: Double = 1, now: Double) -> Bool {
        refill(now: now)
        guard tokens >= count else { return false }
        tokens -= count
        return true
    }

    /// Seconds from `now` until `count` tokens are available (0 when available now,
    /// `.infinity` when the rate is zero or `count` exceeds the burst). Pure; any caller.
    public func delay(until count: Double = 1, now: Double) -> Double {
        let have = available(now: now)
        if have >= count { return 0 }
        guard rate > 0, count <= burst else { return .infinity }
        return (count - have) / rate
    }

    /// Changes rate and burst at `now` (e.g. after `AdaptiveThrottle` slows a provider), keeping
    /// the tokens already earned up to the new burst. Pure; the owner calls it.
    public mutating func reconfigure(rate: Double, burst: Double, now: Double) {
        refill(now: now)
        self.rate = max(rate, 0)
        self.burst = max(burst, 1)
        tokens = min(tokens, self.burst)
    }

    private mutating func refill(now: Double) {
        tokens = available(now: now)
        if now > updatedAt { updatedAt = now }
    }
}
