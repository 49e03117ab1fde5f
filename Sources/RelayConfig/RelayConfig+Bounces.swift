extension RelayConfig {
    /// `bounces`: asynchronous bounces (VERP), complaint feedback loops and the receiver simulator.
    public struct Bounces: Sendable, Codable, Equatable {
        /// Rewrite envelope senders at delivery to a per-message VERP address on a bounce domain,
        /// so bounces that arrive later are tied to their message and recipient. Off by default: the
        /// bounce domain's MX must point at this cluster's relay listener.
        public var verp = false
        /// Bounce domain for every sender; nil: the sending domain's `returnPath`
        /// (`bounces.<domain>` unless set per domain), else `bounces.<sender domain>`.
        public var domain: String? = nil
        /// File with the key (any bytes, 16 or more) of the VERP tags. nil: derived from
        /// `cluster.secretFile` in a cluster, else `dataDir/bounce.key` (created on first start).
        /// Every node of a cluster must use the same key.
        public var keyFile: String? = nil
        /// Addresses that receive ARF complaint reports (feedback loops); accepted on the relay port.
        public var feedbackAddresses: [String] = []
        /// Suppress a recipient for its tenant when it complains.
        public var suppressComplaints = true
        /// The receiver simulator (see `Simulator`).
        public var simulator = Simulator()
        /// Creates the defaults.
        public init() {}
    }

    /// `bounces.simulator`: recipients at a reserved domain that behave like real receivers
    /// (success, hard and soft bounces, auto replies, complaints, greylisting, 421, timeouts, a slow
    /// receiver), and where sandboxed users' mail goes.
    public struct Simulator: Sendable, Codable, Equatable {
        /// Whether the simulator runs (an in-process SMTP receiver on loopback).
        public var enabled = true
        /// The reserved domain; mail to it never leaves the node.
        public var domain = "simulator.sendarix.test"
        /// Seconds a greylisted sender/recipient pair is refused before it is let through.
        public var greylistSeconds = 60
        /// Seconds the slow receiver waits before each reply.
        public var slowSeconds = 5
        /// Seconds after acceptance before the simulated DSN, complaint or auto reply is sent.
        public var asyncDelaySeconds = 1
        /// Creates the defaults.
        public init() {}
    }

    static func decodeBounces(_ o: inout ConfigReader, into b: inout Bounces) {
        b.verp = o.bool("verp", default: b.verp)
        b.domain = o.string("domain")?.lowercased()
        b.keyFile = o.string("keyFile")
        if let list = o.strings("feedbackAddresses") { b.feedbackAddresses = list.map { $0.value.lowercased() } }
        b.suppressComplaints = o.bool("suppressComplaints", default: b.suppressComplaints)
        if var s = o.object("simulator") {
            b.simulator.enabled = s.bool("enabled", default: b.simulator.enabled)
            b.simulator.domain = s.string("domain", default: b.simulator.domain).lowercased()
            b.simulator.greylistSeconds = s.int("greylistSeconds", default: b.simulator.greylistSeconds)
            b.simulator.slowSeconds = s.int("slowSeconds", default: b.simulator.slowSeconds)
            b.simulator.asyncDelaySeconds = s.int("asyncDelaySeconds", default: b.simulator.asyncDelaySeconds)
            s.finish()
        }
        o.finish()
    }

    func validateBounces(_ p: ConfigProblems) {
        RelayConfig.checkRange(bounces.simulator.greylistSeconds, 0...86_400, "bounces.simulator.greylistSeconds", p)
        RelayConfig.checkRange(bounces.simulator.slowSeconds, 0...600, "bounces.simulator.slowSeconds", p)
        RelayConfig.checkRange(bounces.simulator.asyncDelaySeconds, 0...86_400, "bounces.simulator.asyncDelaySeconds", p)
        for a in bounces.feedbackAddresses where a.split(separator: "@").count != 2 {
            p.error("bounces.feedbackAddresses", "'\(a)' is not an address")
        }
        if let d = bounces.domain, d.isEmpty || !d.contains(".") {
            p.error("bounces.domain", "'\(d)' is not a domain name")
        }
    }
}
