extension RelayConfig.DNS {
    /// `dns.rateLimit`: response rate limiting (RRL) of UDP answers from the authoritative
    /// responder, so it cannot be used to reflect and amplify traffic at a spoofed address.
    /// Accounts are kept per client network and kind of response; TCP is never limited.
    public struct RateLimit: Sendable, Codable, Equatable {
        /// Off: every UDP query is answered in full.
        public var enabled = true
        /// Full answers per second for one (network, name, type); 0 = unlimited.
        public var responsesPerSecond: Double = 10
        /// NXDOMAIN and error (REFUSED, FORMERR, …) answers per second for one network; 0 = unlimited.
        public var errorsPerSecond: Double = 5
        /// Every `slip`-th limited answer is sent as an empty truncated reply (the client retries
        /// over TCP); the others are dropped. 0 drops them all, 1 truncates them all.
        public var slip = 2
        /// Seconds over which a flood is remembered: an over-limit account can owe this many
        /// seconds of answers.
        public var window: Double = 15
        /// Client IPv4 addresses sharing one account (prefix length).
        public var ipv4PrefixLength = 24
        /// Client IPv6 addresses sharing one account (prefix length, at most 56).
        public var ipv6PrefixLength = 56

        /// Creates the defaults.
        public init() {}
    }
}

extension RelayConfig {
    /// Reads `dns.rateLimit` into `limit`, reporting type errors and unknown keys.
    static func decodeDNSRateLimit(_ o: inout ConfigReader, into limit: inout DNS.RateLimit) {
        limit.enabled = o.bool("enabled", default: limit.enabled)
        limit.responsesPerSecond = o.double("responsesPerSecond", default: limit.responsesPerSecond)
        limit.errorsPerSecond = o.double("errorsPerSecond", default: limit.errorsPerSecond)
        limit.slip = o.int("slip", default: limit.slip)
        limit.window = o.double("window", default: limit.window)
        limit.ipv4PrefixLength = o.int("ipv4PrefixLength", default: limit.ipv4PrefixLength)
        limit.ipv6PrefixLength = o.int("ipv6PrefixLength", default: limit.ipv6PrefixLength)
        o.finish()
    }

    /// Range checks for `dns.rateLimit`.
    static func validateDNSRateLimit(_ r: DNS.RateLimit, _ p: ConfigProblems) {
        checkRange(r.responsesPerSecond, 0...100_000, "dns.rateLimit.responsesPerSecond", p)
        checkRange(r.errorsPerSecond, 0...100_000, "dns.rateLimit.errorsPerSecond", p)
        checkRange(r.slip, 0...10, "dns.rateLimit.slip", p)
        checkRange(r.window, 1...3600, "dns.rateLimit.window", p)
        checkRange(r.ipv4PrefixLength, 8...32, "dns.rateLimit.ipv4PrefixLength", p)
        checkRange(r.ipv6PrefixLength, 16...56, "dns.rateLimit.ipv6PrefixLength", p)
        if r.enabled && r.responsesPerSecond == 0 && r.errorsPerSecond == 0 {
            p.warning("dns.rateLimit", "both rates are 0: nothing is limited (set enabled: false to say so)")
        }
    }
}
