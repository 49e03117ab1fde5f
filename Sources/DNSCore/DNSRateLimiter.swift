/// UDP response rate limiting (RRL, in the spirit of BIND's and Knot's), against the server being
/// used as a reflection/amplification source with spoofed addresses.
///
/// Responses are accounted per client network (/24 for IPv4, /56 for IPv6 by default) and per
/// `Category` of response: a positive answer per (qname, qtype), NODATA per qname, every NXDOMAIN
/// of the network together (random-subdomain floods share one account), every other error
/// (REFUSED, FORMERR, NOTIMP, …) together. Each account is a token bucket holding at most one
/// second's worth of responses (`responsesPerSecond`, or `errorsPerSecond` for NXDOMAIN and
/// errors; at least one response; `burst` overrides it) and refilling at that rate. A response over the limit still costs a token, so the
/// balance goes negative down to `window` seconds' worth: a client that keeps flooding stays
/// limited, and one that stops gets answers again within `window` seconds at most.
///
/// Over the limit, every `slip`-th response becomes a tiny truncated reply (TC set, no records) so
/// a genuine client retries over TCP, which cannot be spoofed; the rest are dropped. `slip == 0`
/// drops them all, `slip == 1` slips them all. A rate of 0 means that category is not limited.
/// TCP is never limited (the shell only asks for UDP responses).
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

    /// The account a response is charged to (besides the client network).
    public enum Category: Sendable, Hashable {
        /// A positive answer (records in the answer section), per name and type.
        case answer(name: DNSName, type: DNSRecordType)
        /// NOERROR without answers, per name.
        case nodata(name: DNSName)
        /// Every NXDOMAIN to the network.
        case nxdomain
        /// Every other response code to the network (REFUSED, FORMERR, NOTIMP, SERVFAIL, BADVERS).
        case error

        /// True for the categories limited by `errorsPerSecond`.
        public var isError: Bool {
            switch self {
            case .nxdomain, .error: true
            case .answer, .nodata: false
            }
        }

        /// Classifies a response about to be sent. Pure.
        public init(response: DNSMessage) {
            switch response.rcode {
            case .noError:
                guard let question = response.questions.first else { self = .error; return }
                self = response.answers.isEmpty ? .nodata(name: question.name)
                    : .answer(name: question.name, type: question.type)
            case .nameError: self = .nxdomain
            default: self = .error
            }
        }

        /// Classifies a wire-format response; undecodable bytes (e.g. a header-only FORMERR) are
        /// `.error`. Pure.
        public init(responseBytes: [UInt8]) {
            guard let message = try? DNSMessage(decoding: responseBytes) else { self = .error; return }
            self.init(response: message)
        }
    }

    private struct Key: Hashable {
        var network: UInt64
        var category: Category
    }

    private struct Bucket: Sendable {
        var tokens: Double
        var last: Double
        var limited: Int
    }

    /// Full responses per second per (network, name, type) account; 0 = unlimited.
    public let responsesPerSecond: Double
    /// NXDOMAIN and error responses per second per network; 0 = unlimited.
    public let errorsPerSecond: Double
    /// Every `slip`-th limited response is sent truncated; 0 = drop all.
    public let slip: Int
    /// Seconds of debt an over-limit account can accumulate (how long a flood is remembered).
    public let window: Double
    /// Most responses an idle account may send at once; nil = one second's worth (at least 1).
    public let burst: Double?
    public let ipv4PrefixLength: Int
    public let ipv6PrefixLength: Int
    /// Maximum tracked accounts; beyond it idle ones are forgotten (they are full anyway).
    public let maxTracked: Int
    private var buckets: [Key: Bucket] = [:]

    /// Creates a limiter. Rates below 0 become 0, `window` is at least 1 s, `burst` at least 1,
    /// prefix lengths are clamped to 0...32 (IPv4) and 0...56 (IPv6). Pure.
    public init(responsesPerSecond: Double = 10, errorsPerSecond: Double = 5, burst: Double? = nil, slip: Int = 2,
                window: Double = 15, ipv4PrefixLength: Int = 24, ipv6PrefixLength: Int = 56, maxTracked: Int = 100_000) {
        self.burst = burst.map { max(1, $0) }
        self.responsesPerSecond = max(0, responsesPerSecond)
        self.errorsPerSecond = max(0, errorsPerSecond)
        self.slip = max(0, slip)
        self.window = max(1, window)
        self.ipv4PrefixLength = min(max(0, ipv4PrefixLength), 32)
        self.ipv6PrefixLength = min(max(0, ipv6PrefixLength), 56)
        self.maxTracked = max(1, maxTracked)
    }

    /// Number of accounts currently tracked.
    public var trackedCount: Int { buckets.count }

    /// Charges one UDP response of `category` to `client`'s network (4 or 16 bytes; IPv4-mapped
    /// is unmapped) at time `now`. Pure.
    public mutating func decide(client: [UInt8], category: Category, now: Double) -> Decision {
        let rate = category.isError ? errorsPerSecond : responsesPerSecond
        guard rate > 0 else { return .allow }
        let capacity = burst ?? max(1, rate)
        let network = Self.key(DNSIPAddress.unmapped(client), v4Bits: ipv4PrefixLength, v6Bits: ipv6PrefixLength)
        let key = Key(network: network, category: category)
        var bucket: Bucket
        if let existing = buckets[key] {
            bucket = existing
            let elapsed = max(0, now - bucket.last)
            bucket.tokens = min(capacity, bucket.tokens + elapsed * rate)
            bucket.last = now
        } else {
            if buckets.count >= maxTracked { forgetIdle(now: now) }
            bucket = Bucket(tokens: capacity, last: now, limited: 0)
        }
        let decision: Decision
        if bucket.tokens >= 1 {
            bucket.tokens -= 1
            bucket.limited = 0
            decision = .allow
        } else {
            bucket.tokens = max(-rate * window, bucket.tokens - 1)
            bucket.limited += 1
            decision = slip > 0 && bucket.limited % slip == 0 ? .slip : .drop
        }
        buckets[key] = bucket
        return decision
    }

    /// Drops accounts that have had time to refill completely (window + 1 s idle).
    private mutating func forgetIdle(now: Double) {
        let refillTime = window + 1
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
