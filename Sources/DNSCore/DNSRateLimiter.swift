/// UDP response rate limiting per client network (in the spirit of BIND's RRL), against the
/// server being used as a reflection/amplification source with spoofed addresses.
///
/// A token bucket per client network (/24 for IPv4, /56 for IPv6 by default) refills at
/// `responsesPerSecond` up to `burst`. Over the limit, every `slip`-th response becomes a tiny
/// truncated reply (TC set, no records) so a genuine client retries over TCP, which cannot be
/// spoofed; the rest are dropped. `slip == 0` drops them all. TCP is never limited.
/// Pure value with an injected clock (`now`, seconds); wrap it in a lock or keep it on one thread.
public struct DNSRateLimiter: Sendable {
    /// What to do with one UDP response.
    public enum Decision: Sendable, Equatable {
        /// Send the full response.
        case allow
        /// Send a minimal truncated response instead.
        case slip
        /// Send nothing.
        case drop
    }

    private struct Bucket: Sendable {
        var tokens: Double
        var last: Double
        var limited: Int
    }

    public let responsesPerSecond: Double
    public let burst: Double
    public let slip: Int
    public let ipv4PrefixLength: Int
    public let ipv6PrefixLength: Int
    /// Maximum tracked networks; beyond it idle buckets are forgotten (they are full anyway).
    public let maxTracked: Int
    private var buckets: [UInt64: Bucket] = [:]

    /// Creates a limiter. Prefix lengths are clamped to 0...32 (IPv4) and 0...56 (IPv6). Pure.
    public init(responsesPerSecond: Double = 20, burst: Double = 40, slip: Int = 2,
                ipv4PrefixLength: Int = 24, ipv6PrefixLength: Int = 56, maxTracked: Int = 100_000) {
        self.responsesPerSecond = max(0.001, responsesPerSecond)
        self.burst = max(1, burst)
        self.slip = max(0, slip)
        self.ipv4PrefixLength = min(max(0, ipv4PrefixLength), 32)
        self.ipv6PrefixLength = min(max(0, ipv6PrefixLength), 56)
        self.maxTracked = max(1, maxTracked)
    }

    /// Number of networks currently tracked.
    public var trackedCount: Int { buckets.count }

    /// Charges one response to `client`'s network (4 or 16 bytes; IPv4-mapped is unmapped). Pure.
    public mutating func decide(client: [UInt8], now: Double) -> Decision {
        let key = Self.key(DNSIPAddress.unmapped(client), v4Bits: ipv4PrefixLength, v6Bits: ipv6PrefixLength)
        var bucket: Bucket
        if let existing = buckets[key] {
            bucket = existing
            let elapsed = max(0, now - bucket.last)
            bucket.tokens = min(burst, bucket.tokens + elapsed * responsesPerSecond)
            bucket.last = now
        } else {
            if buckets.count >= maxTracked { forgetIdle(now: now) }
            bucket = Bucket(tokens: burst, last: now, limited: 0)
        }
        let decision: Decision
        if bucket.tokens >= 1 {
            bucket.tokens -= 1
            bucket.limited = 0
            decision = .allow
        } else {
            bucket.limited += 1
            decision = slip > 0 && bucket.limited % slip == 0 ? .slip : .drop
        }
        buckets[key] = bucket
        return decision
    }

    private mutating func forgetIdle(now: Double) {
        let refillTime = burst / responsesPerSecond
        buckets = buckets.filter { now - $0.value.last < refillTime }
        if buckets.count >= maxTracked { buckets.removeAll(keepingCapacity: true) }
    }

    /// Family tag in the top byte, the masked network bits below it.
    static func key(_ address: [UInt8], v4Bits: Int, v6Bits: Int) -> UInt64 {
        let bits = address.count == 4 ? v4Bits : v6Bits
        var value: UInt64 = 0
        for i in 0..<min(7, address.count) { value = value << 8 | UInt64(address[i]) }
        let width = min(7, address.count) * 8
        if bits < width { value &= ~((UInt64(1) << UInt64(width - bits)) - 1) }
        return (address.count == 4 ? 1 : 2) << 56 | value
    }
}
