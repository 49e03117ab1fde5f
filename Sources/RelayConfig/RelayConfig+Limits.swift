import Registry

extension RelayConfig {
    /// `sendingLimits`: how nodes share the counts behind per-tenant and per-credential limits
    /// (`users[].limits`, `sendingLimits.tenants`, and tenant records of the control plane).
    public struct SendingLimitsSettings: Sendable, Codable, Equatable {
        /// How often each node proposes its usage counters through the replicated log (ms). The
        /// cluster may overshoot a limit by what the other nodes accept within one interval.
        public var syncMillis = 500
        /// Limits per tenant name, from the file; a tenant record's `limits` in the control plane
        /// takes precedence.
        public var tenants: [String: SendingLimits] = [:]
        /// Creates the defaults.
        public init() {}
    }

    /// `abuse`: compromised-credential detection (see `AbuseDetector`).
    public struct Abuse: Sendable, Codable, Equatable {
        /// What a flagged departure does.
        public enum Action: String, Sendable, Codable, CaseIterable {
            /// Nothing is learned or flagged.
            case off
            /// A `credential.alert` event (and webhook) only.
            case event
            /// The credential is suspended until an operator lifts it (`credential.suspended` event).
            case suspend
        }
        public var action = Action.event
        /// History a credential needs before departures are judged (hours).
        public var learningHours = 24.0
        public var burstFactor = 10.0
        public var minBurstMessages = 100
        public var recipientsFactor = 10.0
        public var minDistinctRecipients = 200
        public var bounceRate = 0.3
        public var bounceFactor = 3.0
        public var minBounceSample = 20
        /// Creates the defaults.
        public init() {}

        /// The detector settings these keys describe.
        public var detectorSettings: AbuseDetector.Settings {
            var s = AbuseDetector.Settings()
            s.learningMillis = Int64(learningHours * 3_600_000)
            s.burstFactor = burstFactor
            s.minBurstMessages = minBurstMessages
            s.recipientsFactor = recipientsFactor
            s.minDistinctRecipients = minDistinctRecipients
            s.bounceRate = bounceRate
            s.bounceFactor = bounceFactor
            s.minBounceSample = minBounceSample
            return s
        }
    }

    /// Reads a limits object (`users[].limits`, `sendingLimits.tenants.T`); every key optional, each ≥ 1.
    static func decodeLimits(_ o: inout ConfigReader) -> SendingLimits {
        func value(_ key: String) -> Int? {
            guard o.fields[key] != nil else { return nil }
            let v = o.int(key, default: 0)
            if v < 1 { o.problems.error(o.keyPath(key), "must be at least 1 (leave it out for no limit)") }
            return v
        }
        let l = SendingLimits(messagesPerSecond: value("messagesPerSecond"), messagesPerMinute: value("messagesPerMinute"),
                              messagesPerDay: value("messagesPerDay"), recipientsPerMessage: value("recipientsPerMessage"),
                              recipientsPerDay: value("recipientsPerDay"), concurrentConnections: value("concurrentConnections"))
        o.finish()
        return l
    }

    /// Reads `sendingLimits`.
    static func decodeSendingLimits(_ o: inout ConfigReader, into s: inout SendingLimitsSettings) {
        s.syncMillis = o.int("syncMillis", default: s.syncMillis)
        if s.syncMillis < 50 || s.syncMillis > 60_000 { o.problems.error(o.keyPath("syncMillis"), "must be 50-60000") }
        if let t = o.raw("tenants"), case .object(let fields) = t {
            for (name, value) in fields {
                var r = ConfigReader(value, path: ConfigReader.join(o.keyPath("tenants"), name), problems: o.problems)
                s.tenants[name] = decodeLimits(&r)
            }
        } else if o.fields["tenants"] != nil {
            o.problems.error(o.keyPath("tenants"), "expected an object of tenant name → limits")
        }
        o.finish()
    }

    /// Reads `abuse`.
    static func decodeAbuse(_ o: inout ConfigReader, into a: inout Abuse) {
        if let s = o.string("action") {
            if let v = Abuse.Action(rawValue: s) { a.action = v } else {
                o.problems.error(o.keyPath("action"), "'\(s)' is not one of off, event, suspend")
            }
        }
        a.learningHours = o.double("learningHours", default: a.learningHours)
        a.burstFactor = o.double("burstFactor", default: a.burstFactor)
        a.minBurstMessages = o.int("minBurstMessages", default: a.minBurstMessages)
        a.recipientsFactor = o.double("recipientsFactor", default: a.recipientsFactor)
        a.minDistinctRecipients = o.int("minDistinctRecipients", default: a.minDistinctRecipients)
        a.bounceRate = o.double("bounceRate", default: a.bounceRate)
        a.bounceFactor = o.double("bounceFactor", default: a.bounceFactor)
        a.minBounceSample = o.int("minBounceSample", default: a.minBounceSample)
        if a.learningHours < 0 { o.problems.error(o.keyPath("learningHours"), "must not be negative") }
        o.finish()
    }
}
