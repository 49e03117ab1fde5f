import SendarixSupport

extension RelayConfig.Delivery {
    /// `delivery.pools[]`: a named set of warm local source addresses (e.g. to keep bulk mail's
    /// reputation apart from transactional mail's).
    public struct SourcePool: Sendable, Codable, Equatable {
        /// Pool name, referenced by `routes[].pool`, `users[].pool` and `warmup.addresses[].pool`.
        public var name: String
        /// Warm local addresses of the pool (cold ones join through `warmup.addresses[].pool`).
        public var addresses: [IPAddress]
        /// Creates a pool.
        public init(name: String, addresses: [IPAddress]) {
            self.name = name
            self.addresses = addresses
        }
    }

    /// `delivery.mtaSts`: outbound MTA-STS (RFC 8461) for MX delivery and the RFC 8460 TLS
    /// report data kept per node.
    public struct MTASTS: Sendable, Codable, Equatable {
        /// Look up and apply recipient domains' MTA-STS policies.
        public var enabled = true
        /// Longest time a fetched policy is cached, whatever its `max_age` (seconds).
        public var cacheMaxAgeSeconds = 31_557_600
        /// Longest wait for one policy fetch over HTTPS (seconds).
        public var fetchTimeoutSeconds: Double = 10
        /// `organization-name` of TLS reports (default: `node.hostname`).
        public var reportOrganization: String? = nil
        /// `contact-info` of TLS reports (default: `postmaster@<node.hostname>`).
        public var reportContact: String? = nil
        /// Creates the defaults.
        public init() {}
    }

    /// `delivery.circuitBreaker`: skip a host for a while after it keeps failing.
    public struct CircuitBreaker: Sendable, Codable, Equatable {
        /// Consecutive connection failures that open the breaker.
        public var failureThreshold = 5
        /// Seconds the breaker stays open at first.
        public var openSeconds = 60
        /// Cap of the open period, which doubles after each failed probe: after an outage,
        /// delivery resumes within this many seconds of the host's recovery.
        public var maxOpenSeconds = 300
        /// Creates the defaults.
        public init() {}
    }

    /// `delivery.shaping`: overrides merged over the built-in provider defaults (built-in, then
    /// `default`, then the provider's own entry).
    public struct Shaping: Sendable, Codable, Equatable {
        /// Receiver names accepted as keys of `providers` (the delivery engine's provider names).
        public static let providerNames = ["google", "microsoft", "yahoo", "apple", "zoho", "proton", "fastmail",
                                           "mimecast", "proofpoint", "other"]
        /// TLS versions accepted for `minimumTLS`.
        public static let tlsVersions = ["1.0", "1.1", "1.2", "1.3"]

        /// Applied to every provider (JSON key `default`).
        public var all: Override? = nil
        /// Applied to one provider, keyed by a name from `providerNames`.
        public var providers: [String: Override] = [:]
        /// Creates an empty shaping section.
        public init(all: Override? = nil, providers: [String: Override] = [:]) {
            self.all = all
            self.providers = providers
        }

        enum CodingKeys: String, CodingKey {
            case all = "default"
            case providers
        }

        /// A partial shaping policy: each non-nil field replaces the default.
        public struct Override: Sendable, Codable, Equatable {
            /// Most simultaneous connections to the provider.
            public var maxConnections: Int? = nil
            /// Most messages over one connection.
            public var maxMessagesPerConnection: Int? = nil
            /// Most messages per second.
            public var messagesPerSecond: Double? = nil
            /// Most new connections per second.
            public var connectionsPerSecond: Double? = nil
            /// Lowest acceptable TLS version ("1.0" … "1.3") when TLS is used.
            public var minimumTLS: String? = nil
            /// Creates an override.
            public init(maxConnections: Int? = nil, maxMessagesPerConnection: Int? = nil,
                        messagesPerSecond: Double? = nil, connectionsPerSecond: Double? = nil,
                        minimumTLS: String? = nil) {
                self.maxConnections = maxConnections
                self.maxMessagesPerConnection = maxMessagesPerConnection
                self.messagesPerSecond = messagesPerSecond
                self.connectionsPerSecond = connectionsPerSecond
                self.minimumTLS = minimumTLS
            }
        }
    }

    /// `delivery.throttle`: how rate-limit and reputation deferrals slow a provider down for one
    /// source address, and how it recovers.
    public struct Throttle: Sendable, Codable, Equatable {
        /// Rate and connection multiplier per level (0.5 halves per level).
        public var slowdownFactor: Double = 0.5
        /// Smallest multiplier before sending is suspended.
        public var minimumFactor: Double = 0.05
        /// Level at which sending to the provider is suspended.
        public var suspendLevel = 4
        /// First suspension in seconds; doubles per level above `suspendLevel`.
        public var suspendSeconds = 900
        /// Longest suspension in seconds.
        public var maxSuspendSeconds = 14_400
        /// Seconds without new signals after which the level drops by one.
        public var recoverySeconds = 600
        /// Creates the defaults.
        public init() {}
    }

    /// `delivery.warmup`: cold source addresses with a daily cap that grows day by day.
    public struct Warmup: Sendable, Codable, Equatable {
        /// Messages allowed on warm-up day 1, 2, …; after the last day the address is warm.
        public var dailyCaps = [50, 100, 500, 1_000, 5_000, 10_000, 20_000, 40_000, 70_000, 100_000, 150_000, 250_000]
        /// Addresses being warmed up (in addition to the warm `delivery.sourceAddresses`).
        public var addresses: [Address] = []
        /// Creates the defaults.
        public init() {}

        /// `delivery.warmup.addresses[]`: one cold source address.
        public struct Address: Sendable, Codable, Equatable {
            /// Local address to bind.
            public var address: IPAddress
            /// First day of warm-up, `YYYY-MM-DD` (UTC).
            public var startDate: String
            /// The pool it joins (`delivery.pools[].name`); nil: the default pool.
            public var pool: String? = nil
            /// Creates an entry.
            public init(address: IPAddress, startDate: String, pool: String? = nil) {
                self.address = address
                self.startDate = startDate
                self.pool = pool
            }

            /// `startDate` as seconds since the epoch (UTC midnight), or nil when it is not a valid date.
            /// Pure; any caller.
            public var startSeconds: Double? {
                RelayConfig.Delivery.Warmup.parseDate(startDate).map { Double($0.days) * 86_400 }
            }
        }

        /// Parses `YYYY-MM-DD` into a real calendar date (rejects 2026-02-30). Pure; any caller.
        static func parseDate(_ text: String) -> CivilDate? {
            let parts = text.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
                  parts.allSatisfy({ $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
                  let y = Int64(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
                  (1...12).contains(m), (1...31).contains(d) else { return nil }
            let date = CivilDate(year: y, month: m, day: d)
            return CivilDate(days: date.days) == date ? date : nil
        }
    }
}

extension RelayConfig {
    /// Reads the `delivery` object (strict: unknown keys and wrong types are problems).
    static func decodeDelivery(_ o: inout ConfigReader, into d: inout Delivery) {
        let problems = o.problems
        d.enabled = o.bool("enabled", default: d.enabled)
        d.maxLifetimeSeconds = o.int("maxLifetimeSeconds", default: d.maxLifetimeSeconds)
        d.heloName = o.string("heloName")
        if let list = o.strings("sourceAddresses") {
            d.sourceAddresses = list.compactMap { ipAddress($0.value, path: $0.path, problems: problems) }
        }
        d.connectTimeoutSeconds = o.double("connectTimeoutSeconds", default: d.connectTimeoutSeconds)
        d.commandTimeoutSeconds = o.double("commandTimeoutSeconds", default: d.commandTimeoutSeconds)
        d.idleTimeoutSeconds = o.double("idleTimeoutSeconds", default: d.idleTimeoutSeconds)
        d.leaseSeconds = o.int("leaseSeconds", default: d.leaseSeconds)
        if let steps = o.ints("retrySchedule") { d.retrySchedule = steps }
        d.retryJitter = o.double("retryJitter", default: d.retryJitter)
        d.notifyByDefault = o.bool("notifyByDefault", default: d.notifyByDefault)
        d.caFile = o.string("caFile")
        d.mxPort = o.int("mxPort", default: d.mxPort)
        d.maxInFlight = o.int("maxInFlight", default: d.maxInFlight)
        d.schedulerPriority = o.string("schedulerPriority") ?? d.schedulerPriority
        d.rateLimitStaticRoutes = o.bool("rateLimitStaticRoutes", default: d.rateLimitStaticRoutes)
        d.brokenTLSSeconds = o.int("brokenTLSSeconds", default: d.brokenTLSSeconds)
        if var m = o.object("mtaSts") {
            d.mtaSts.enabled = m.bool("enabled", default: d.mtaSts.enabled)
            d.mtaSts.cacheMaxAgeSeconds = m.int("cacheMaxAgeSeconds", default: d.mtaSts.cacheMaxAgeSeconds)
            d.mtaSts.fetchTimeoutSeconds = m.double("fetchTimeoutSeconds", default: d.mtaSts.fetchTimeoutSeconds)
            d.mtaSts.reportOrganization = m.string("reportOrganization")
            d.mtaSts.reportContact = m.string("reportContact")
            m.finish()
        }
        if var b = o.object("circuitBreaker") {
            d.circuitBreaker.failureThreshold = b.int("failureThreshold", default: d.circuitBreaker.failureThreshold)
            d.circuitBreaker.openSeconds = b.int("openSeconds", default: d.circuitBreaker.openSeconds)
            d.circuitBreaker.maxOpenSeconds = b.int("maxOpenSeconds", default: max(d.circuitBreaker.maxOpenSeconds, d.circuitBreaker.openSeconds))
            b.finish()
        }
        if var s = o.object("shaping") {
            if var a = s.object("default") {
                d.shaping.all = decodeShapingOverride(&a)
            }
            if var p = s.object("providers") {
                for name in p.fields.keys.sorted() {
                    guard var entry = p.object(name) else { continue }
                    d.shaping.providers[name] = decodeShapingOverride(&entry)
                }
                p.finish()
            }
            s.finish()
        }
        if var t = o.object("throttle") {
            d.throttle.slowdownFactor = t.double("slowdownFactor", default: d.throttle.slowdownFactor)
            d.throttle.minimumFactor = t.double("minimumFactor", default: d.throttle.minimumFactor)
            d.throttle.suspendLevel = t.int("suspendLevel", default: d.throttle.suspendLevel)
            d.throttle.suspendSeconds = t.int("suspendSeconds", default: d.throttle.suspendSeconds)
            d.throttle.maxSuspendSeconds = t.int("maxSuspendSeconds", default: d.throttle.maxSuspendSeconds)
            d.throttle.recoverySeconds = t.int("recoverySeconds", default: d.throttle.recoverySeconds)
            t.finish()
        }
        if var w = o.object("warmup") {
            if let caps = w.ints("dailyCaps") { d.warmup.dailyCaps = caps }
            for item in w.array("addresses") ?? [] {
                var a = ConfigReader(item.value, path: item.path, problems: problems)
                let address = a.requiredString("address").flatMap {
                    ipAddress($0, path: a.keyPath("address"), problems: problems)
                }
                let start = a.requiredString("startDate")
                let pool = a.string("pool")
                if let address, let start { d.warmup.addresses.append(.init(address: address, startDate: start, pool: pool)) }
                a.finish()
            }
            w.finish()
        }
        for item in o.array("pools") ?? [] {
            var q = ConfigReader(item.value, path: item.path, problems: problems)
            let name = q.requiredString("name")
            var addresses: [IPAddress] = []
            if let list = q.strings("addresses") {
                addresses = list.compactMap { ipAddress($0.value, path: $0.path, problems: problems) }
            }
            if let name { d.pools.append(Delivery.SourcePool(name: name, addresses: addresses)) }
            q.finish()
        }
        o.finish()
    }

    static func decodeShapingOverride(_ r: inout ConfigReader) -> Delivery.Shaping.Override {
        var v = Delivery.Shaping.Override()
        if r.raw("maxConnections") != nil { v.maxConnections = r.int("maxConnections", default: 0) }
        if r.raw("maxMessagesPerConnection") != nil {
            v.maxMessagesPerConnection = r.int("maxMessagesPerConnection", default: 0)
        }
        if r.raw("messagesPerSecond") != nil { v.messagesPerSecond = r.double("messagesPerSecond", default: 0) }
        if r.raw("connectionsPerSecond") != nil { v.connectionsPerSecond = r.double("connectionsPerSecond", default: 0) }
        v.minimumTLS = r.string("minimumTLS")
        r.finish()
        return v
    }

    static func ipAddress(_ s: String, path: String, problems: ConfigProblems) -> IPAddress? {
        if let a = IPAddress(s) { return a }
        problems.error(path, "'\(s)' is not an IP address")
        return nil
    }

    /// Range and consistency checks of the `delivery` section.
    func validateDelivery(_ p: ConfigProblems) {
        let d = delivery
        RelayConfig.checkRange(d.maxLifetimeSeconds, 60...31_536_000, "delivery.maxLifetimeSeconds", p)
        if let h = d.heloName, !HostPort.isValidHostname(h) {
            p.error("delivery.heloName", "'\(h)' is not a valid host name")
        }
        RelayConfig.checkRange(d.connectTimeoutSeconds, 0.1...300, "delivery.connectTimeoutSeconds", p)
        RelayConfig.checkRange(d.commandTimeoutSeconds, 1...3_600, "delivery.commandTimeoutSeconds", p)
        RelayConfig.checkRange(d.idleTimeoutSeconds, 0...3_600, "delivery.idleTimeoutSeconds", p)
        RelayConfig.checkRange(d.leaseSeconds, 10...86_400, "delivery.leaseSeconds", p)
        if d.leaseSeconds > 60 {
            p.warning("delivery.leaseSeconds", "\(d.leaseSeconds) s: in a cluster, the messages a dead node "
                      + "was delivering wait this long before another node takes them over")
        }
        if d.retrySchedule.isEmpty {
            p.error("delivery.retrySchedule", "must list at least one delay in seconds")
        } else if d.retrySchedule.count > 100 {
            p.error("delivery.retrySchedule", "lists \(d.retrySchedule.count) steps; at most 100 are allowed")
        }
        for (i, step) in d.retrySchedule.enumerated() {
            RelayConfig.checkRange(step, 1...2_592_000, "delivery.retrySchedule[\(i)]", p)
        }
        if zip(d.retrySchedule, d.retrySchedule.dropFirst()).contains(where: { $0 > $1 }) {
            p.warning("delivery.retrySchedule", "delays are not in increasing order")
        }
        RelayConfig.checkRange(d.retryJitter, 0...1, "delivery.retryJitter", p)
        if let f = d.caFile { RelayConfig.checkFile(f, "delivery.caFile", p) }
        RelayConfig.checkRange(d.mxPort, 1...65_535, "delivery.mxPort", p)
        RelayConfig.checkRange(d.maxInFlight, 1...1_000_000, "delivery.maxInFlight", p)
        if !["background", "utility", "default"].contains(d.schedulerPriority) {
            p.error("delivery.schedulerPriority", "'\(d.schedulerPriority)' is not one of background, utility, default")
        }
        RelayConfig.checkRange(d.brokenTLSSeconds, 0...604_800, "delivery.brokenTLSSeconds", p)
        RelayConfig.checkRange(d.mtaSts.cacheMaxAgeSeconds, 60...31_557_600, "delivery.mtaSts.cacheMaxAgeSeconds", p)
        RelayConfig.checkRange(d.mtaSts.fetchTimeoutSeconds, 0.5...120, "delivery.mtaSts.fetchTimeoutSeconds", p)
        for (key, value) in [("reportOrganization", d.mtaSts.reportOrganization), ("reportContact", d.mtaSts.reportContact)] {
            if let value, value.isEmpty || value.count > 256 {
                p.error("delivery.mtaSts.\(key)", "must be 1-256 characters")
            }
        }
        RelayConfig.checkRange(d.circuitBreaker.failureThreshold, 1...1_000, "delivery.circuitBreaker.failureThreshold", p)
        RelayConfig.checkRange(d.circuitBreaker.openSeconds, 1...86_400, "delivery.circuitBreaker.openSeconds", p)
        RelayConfig.checkRange(d.circuitBreaker.maxOpenSeconds, min(max(1, d.circuitBreaker.openSeconds), 86_400)...86_400,
                               "delivery.circuitBreaker.maxOpenSeconds", p)

        if let all = d.shaping.all { validateShaping(all, "delivery.shaping.default", p) }
        for name in d.shaping.providers.keys.sorted() {
            let path = "delivery.shaping.providers.\(name)"
            if !Delivery.Shaping.providerNames.contains(name) {
                p.error(path, "'\(name)' is not a known provider (\(Delivery.Shaping.providerNames.joined(separator: ", ")))")
            }
            validateShaping(d.shaping.providers[name]!, path, p)
        }

        let t = d.throttle
        if !(t.slowdownFactor > 0 && t.slowdownFactor < 1) {
            p.error("delivery.throttle.slowdownFactor", "\(t.slowdownFactor) must be between 0 and 1 (exclusive)")
        }
        if !(t.minimumFactor > 0 && t.minimumFactor <= 1) {
            p.error("delivery.throttle.minimumFactor", "\(t.minimumFactor) must be above 0 and at most 1")
        }
        RelayConfig.checkRange(t.suspendLevel, 1...100, "delivery.throttle.suspendLevel", p)
        RelayConfig.checkRange(t.suspendSeconds, 1...604_800, "delivery.throttle.suspendSeconds", p)
        RelayConfig.checkRange(t.maxSuspendSeconds, 1...604_800, "delivery.throttle.maxSuspendSeconds", p)
        if t.maxSuspendSeconds < t.suspendSeconds {
            p.error("delivery.throttle.maxSuspendSeconds",
                    "\(t.maxSuspendSeconds) is shorter than delivery.throttle.suspendSeconds (\(t.suspendSeconds))")
        }
        RelayConfig.checkRange(t.recoverySeconds, 1...604_800, "delivery.throttle.recoverySeconds", p)

        if d.warmup.dailyCaps.isEmpty && !d.warmup.addresses.isEmpty {
            p.error("delivery.warmup.dailyCaps", "must list at least one daily cap when warm-up addresses are set")
        }
        for (i, cap) in d.warmup.dailyCaps.enumerated() {
            RelayConfig.checkRange(cap, 1...100_000_000, "delivery.warmup.dailyCaps[\(i)]", p)
        }
        var seen: [IPAddress: String] = [:]
        for (i, a) in d.sourceAddresses.enumerated() {
            let path = "delivery.sourceAddresses[\(i)]"
            if let other = seen[a] { p.error(path, "\(a) is already listed at \(other)") } else { seen[a] = path }
        }
        var poolNames: Set<String> = []
        for (i, pool) in d.pools.enumerated() {
            let path = "delivery.pools[\(i)]"
            if !RelayConfig.isValidID(pool.name) || pool.name == "default" {
                p.error(path + ".name", "'\(pool.name)' must be 1-64 letters, digits, '-', '_' or '.', and not 'default'")
            } else if !poolNames.insert(pool.name).inserted {
                p.error(path + ".name", "duplicate pool '\(pool.name)'")
            }
            for (j, a) in pool.addresses.enumerated() {
                let apath = path + ".addresses[\(j)]"
                if let other = seen[a] { p.error(apath, "\(a) is already listed at \(other)") } else { seen[a] = apath }
            }
        }
        for (i, a) in d.warmup.addresses.enumerated() {
            let path = "delivery.warmup.addresses[\(i)]"
            if let other = seen[a.address] {
                p.error(path + ".address", "\(a.address) is already listed at \(other)")
            } else {
                seen[a.address] = path + ".address"
            }
            if a.startSeconds == nil {
                p.error(path + ".startDate", "'\(a.startDate)' is not a date (YYYY-MM-DD)")
            }
            if let name = a.pool, !poolNames.contains(name) {
                p.error(path + ".pool", "no pool '\(name)' in delivery.pools")
            }
        }
        for (i, pool) in d.pools.enumerated() where pool.addresses.isEmpty
            && !d.warmup.addresses.contains(where: { $0.pool == pool.name }) {
            p.error("delivery.pools[\(i)].addresses", "pool '\(pool.name)' has no address (here or in delivery.warmup.addresses)")
        }
        for (i, u) in users.enumerated() {
            if let name = u.pool, !poolNames.contains(name) {
                p.error("users[\(i)].pool", "no pool '\(name)' in delivery.pools")
            }
        }
        for (i, r) in routes.enumerated() {
            if let name = r.pool, !poolNames.contains(name) {
                p.error("routes[\(i)].pool", "no pool '\(name)' in delivery.pools")
            }
        }
    }

    func validateShaping(_ o: Delivery.Shaping.Override, _ path: String, _ p: ConfigProblems) {
        if let v = o.maxConnections { RelayConfig.checkRange(v, 1...100_000, path + ".maxConnections", p) }
        if let v = o.maxMessagesPerConnection {
            RelayConfig.checkRange(v, 1...1_000_000, path + ".maxMessagesPerConnection", p)
        }
        if let v = o.messagesPerSecond { RelayConfig.checkRange(v, 0.001...1_000_000, path + ".messagesPerSecond", p) }
        if let v = o.connectionsPerSecond {
            RelayConfig.checkRange(v, 0.001...1_000_000, path + ".connectionsPerSecond", p)
        }
        if let v = o.minimumTLS, !Delivery.Shaping.tlsVersions.contains(v) {
            p.error(path + ".minimumTLS", "'\(v)' is not one of \(Delivery.Shaping.tlsVersions.joined(separator: ", "))")
        }
    }

    static func checkRange(_ v: Double, _ range: ClosedRange<Double>, _ path: String, _ p: ConfigProblems) {
        if !range.contains(v) || v.isNaN {
            p.error(path, "\(formatNumber(v)) is out of range (\(formatNumber(range.lowerBound))...\(formatNumber(range.upperBound)))")
        }
    }

    static func formatNumber(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
    }
}
