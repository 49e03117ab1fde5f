/// Compromised-credential detection core (issue 11): learns, per credential, its usual sending —
/// messages and distinct recipients per hour, the networks it logs in from, its bounce rate — and
/// flags sharp departures once it has `Settings.learningMillis` of history:
/// - `burst`: messages this hour above `burstFactor` × its usual hourly volume (and `minBurstMessages`);
/// - `newNetwork`: a login from a network (IPv4 /24, IPv6 /48) it never used (once it used one);
/// - `manyRecipients`: distinct recipients this hour above `recipientsFactor` × usual (and `minDistinctRecipients`);
/// - `bounceSpike`: bounces and blocks this hour above `bounceRate` and `bounceFactor` × its usual rate,
///   over at least `minBounceSample` outcomes.
/// Each signal fires at most once per credential and hour. Pure: time comes from the caller (ms since
/// epoch). Not thread-safe; the shell keeps it behind a lock.
public struct AbuseDetector: Sendable {
    /// Thresholds; the defaults suit a credential with a day of history.
    public struct Settings: Sendable, Equatable {
        public var learningMillis: Int64 = 86_400_000
        public var burstFactor = 10.0
        public var minBurstMessages = 100
        public var recipientsFactor = 10.0
        public var minDistinctRecipients = 200
        public var bounceRate = 0.3
        public var bounceFactor = 3.0
        public var minBounceSample = 20
        /// Creates the defaults. Any thread.
        public init() {}
    }

    /// A departure.
    public enum Signal: String, Sendable, Equatable, CaseIterable {
        case burst, newNetwork = "new-network", manyRecipients = "many-recipients", bounceSpike = "bounce-spike"
    }

    /// One flagged departure.
    public struct Alert: Sendable, Equatable {
        public var subject: LimitSubject
        public var signal: Signal
        /// One line, e.g. `burst: 400 messages this hour, usual 12.0/hour`.
        public var detail: String
        public var at: Int64
    }

    struct Profile: Sendable {
        var firstSeen: Int64
        var hour: Int64
        var messages = 0, outcomes = 0, bounces = 0
        var recipients: Set<String> = []
        var totalMessages = 0, totalDistinct = 0, totalOutcomes = 0, totalBounces = 0
        var networks: Set<String> = []
        var fired: Set<Signal> = []
    }

    static let hour: Int64 = 3_600_000
    static let maxTracked = 100_000

    public var settings: Settings
    private var profiles: [LimitSubject: Profile] = [:]

    /// A detector with `settings`. Any thread.
    public init(settings: Settings = Settings()) { self.settings = settings }

    /// A successful login of `subject` from `ip` at `now`.
    public mutating func login(_ subject: LimitSubject, ip: String, now: Int64) -> [Alert] {
        var p = profile(subject, now)
        let net = Self.network(of: ip)
        var alerts: [Alert] = []
        if mature(p, now), !p.networks.isEmpty, !p.networks.contains(net) {
            alerts.append(Alert(subject: subject, signal: .newNetwork,
                                detail: "new-network: login from \(net), never used before (known: \(p.networks.sorted().prefix(5).joined(separator: ", ")))", at: now))
        }
        if p.networks.count < 1000 { p.networks.insert(net) }
        profiles[subject] = p
        return alerts
    }

    /// A message of `subject` accepted at `now` for `recipients`.
    public mutating func message(_ subject: LimitSubject, recipients: [String], now: Int64) -> [Alert] {
        var p = profile(subject, now)
        p.messages += 1
        for r in recipients where p.recipients.count < Self.maxTracked { p.recipients.insert(r.lowercased()) }
        var alerts: [Alert] = []
        if mature(p, now) {
            let hours = Double(completedHours(p))
            let usual = Double(p.totalMessages) / hours
            if !p.fired.contains(.burst), p.messages >= settings.minBurstMessages, Double(p.messages) > settings.burstFactor * usual {
                p.fired.insert(.burst)
                alerts.append(Alert(subject: subject, signal: .burst,
                                    detail: "burst: \(p.messages) messages this hour, usual \(Self.fmt(usual))/hour", at: now))
            }
            let usualDistinct = Double(p.totalDistinct) / hours
            if !p.fired.contains(.manyRecipients), p.recipients.count >= settings.minDistinctRecipients,
               Double(p.recipients.count) > settings.recipientsFactor * usualDistinct {
                p.fired.insert(.manyRecipients)
                alerts.append(Alert(subject: subject, signal: .manyRecipients,
                                    detail: "many-recipients: \(p.recipients.count) distinct recipients this hour, usual \(Self.fmt(usualDistinct))/hour", at: now))
            }
        }
        profiles[subject] = p
        return alerts
    }

    /// A delivery outcome of one of `subject`'s recipients: `bounced` for a bounce or a block.
    public mutating func outcome(_ subject: LimitSubject, bounced: Bool, now: Int64) -> [Alert] {
        var p = profile(subject, now)
        p.outcomes += 1
        if bounced { p.bounces += 1 }
        var alerts: [Alert] = []
        if mature(p, now), !p.fired.contains(.bounceSpike), p.outcomes >= settings.minBounceSample {
            let rate = Double(p.bounces) / Double(p.outcomes)
            let usual = p.totalOutcomes == 0 ? 0 : Double(p.totalBounces) / Double(p.totalOutcomes)
            if rate > settings.bounceRate, rate > settings.bounceFactor * usual {
                p.fired.insert(.bounceSpike)
                alerts.append(Alert(subject: subject, signal: .bounceSpike,
                                    detail: "bounce-spike: \(p.bounces) of \(p.outcomes) bounced or blocked this hour (\(Self.fmt(rate * 100))%), usual \(Self.fmt(usual * 100))%", at: now))
            }
        }
        profiles[subject] = p
        return alerts
    }

    /// The network a client address belongs to for `newNetwork`: IPv4 /24, IPv6 /48.
    public static func network(of ip: String) -> String {
        if ip.contains(":") {
            let groups = expand(ip)
            return groups.prefix(3).joined(separator: ":") + "::/48"
        }
        let octets = ip.split(separator: ".")
        guard octets.count == 4 else { return ip }
        return octets.prefix(3).joined(separator: ".") + ".0/24"
    }

    // MARK: Internals

    private func mature(_ p: Profile, _ now: Int64) -> Bool { now - p.firstSeen >= settings.learningMillis }

    private func completedHours(_ p: Profile) -> Int64 {
        max(1, (p.hour - (p.firstSeen - p.firstSeen % Self.hour)) / Self.hour)
    }

    /// The profile of `subject`, its current hour rolled into the history when `now` is in a later hour.
    private func profile(_ subject: LimitSubject, _ now: Int64) -> Profile {
        let h = now - now % Self.hour
        guard var p = profiles[subject] else { return Profile(firstSeen: now, hour: h) }
        if p.hour != h {
            p.totalMessages += p.messages
            p.totalDistinct += p.recipients.count
            p.totalOutcomes += p.outcomes
            p.totalBounces += p.bounces
            p.messages = 0; p.outcomes = 0; p.bounces = 0
            p.recipients = []
            p.fired = []
            p.hour = h
        }
        return p
    }

    private static func expand(_ ip: String) -> [String] {
        let halves = ip.split(separator: "::", maxSplits: 1, omittingEmptySubsequences: false).map {
            $0.split(separator: ":").map { String($0).lowercased() }
        }
        guard halves.count == 2 else { return halves.first ?? [] }
        let zeros = Array(repeating: "0", count: max(0, 8 - halves[0].count - halves[1].count))
        return halves[0] + zeros + halves[1]
    }

    private static func fmt(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) + ".0" : String(r)
    }
}
