extension RelayConfig {
    /// `spamFilter`: scores each message at the end of DATA with rspamd's HTTP API (`/checkv2`)
    /// and acts on the score: below `tagScore` deliver, from `tagScore` add an `X-Spam` header,
    /// from `holdScore` hold in the quarantine, from `rejectScore` refuse with `550 5.7.1`.
    public struct SpamFilter: Sendable, Codable, Equatable {
        /// rspamd's normal worker (`host:port`).
        public var address: HostPort
        /// Longest wait for a verdict (ms); past it the message is treated as unscored.
        public var timeoutMillis = 2000
        /// Unscored messages (rspamd down, slow or confused) are accepted (true) or answered
        /// `451 4.7.1` (false).
        public var failOpen = true
        /// Score from which the message is tagged (`X-Spam: yes`, `X-Spam-Score`); nil: never.
        public var tagScore: Double? = 5
        /// Score from which the message is held in the quarantine; nil: never.
        public var holdScore: Double? = nil
        /// Score from which the message is refused; nil: never.
        public var rejectScore: Double? = 15
        /// Scoring requests in flight at once on this node; more wait their turn.
        public var maxConcurrent = 16
        /// Creates a filter for rspamd at `address`.
        public init(address: HostPort) { self.address = address }
    }

    /// Reads `spamFilter`; nil when its address is missing or malformed (reported).
    static func decodeSpamFilter(_ o: inout ConfigReader) -> SpamFilter? {
        let address = o.requiredString("address").flatMap { hostPort($0, path: o.keyPath("address"), problems: o.problems) }
        var f = SpamFilter(address: address ?? HostPort(host: "127.0.0.1", port: 11333))
        f.timeoutMillis = o.int("timeoutMillis", default: f.timeoutMillis)
        f.failOpen = o.bool("failOpen", default: f.failOpen)
        func score(_ key: String, _ d: Double?) -> Double? {
            if o.isExplicitNull(key) { _ = o.raw(key); return nil }
            return o.fields[key] == nil ? d : o.double(key, default: 0)
        }
        f.tagScore = score("tagScore", f.tagScore)
        f.holdScore = score("holdScore", f.holdScore)
        f.rejectScore = score("rejectScore", f.rejectScore)
        f.maxConcurrent = o.int("maxConcurrent", default: f.maxConcurrent)
        if f.timeoutMillis < 1 || f.timeoutMillis > 60_000 { o.problems.error(o.keyPath("timeoutMillis"), "must be 1-60000") }
        if f.maxConcurrent < 1 { o.problems.error(o.keyPath("maxConcurrent"), "must be at least 1") }
        o.finish()
        return address == nil ? nil : f
    }
}
