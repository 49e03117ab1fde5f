/// Per-destination parking of retries while a destination is down (KumoMTA's scheduled/ready
/// queue split, Postfix's dead-destination handling): once the last `failureThreshold` attempts to
/// a destination (a recipient domain) failed at connection level (connect errors, timeouts, 421,
/// open circuit breakers), messages for it that come due are not claimed one by one: they are
/// parked here, in memory, with their durable due time untouched (a crash forgets the parking,
/// never a message). One message at a time is let through as a probe once the destination may be
/// tried again (`probeAt`, normally when its hosts' circuit breakers half-open); the first
/// success releases every parked message of the destination, a failed probe parks them again
/// until the next retry time. A parked message whose queue lifetime ends is released so that its
/// attempt bounces it. Beyond `maxParked` (memory stays bounded whatever the depth) a message is
/// postponed instead: its due time moves durably past the next probe (`.postpone`, written in
/// batches by the scheduler), so it costs one write now and then, not a claim and a deferral.
/// Postponed due times are spread (`PostponeCalendar`, at most `postponeRate` a second) so they
/// come back in a trickle, never as a wave that competes with accepting mail.
///
/// Time is passed in (seconds since the epoch). Pure value; the delivery scheduler keeps one and
/// touches it from its queue only.
public struct DestinationParking: Sendable {
    /// What to do with a message that came due.
    public enum Decision: Sendable, Equatable {
        /// Claim and attempt it (a destination is up, the message expired, or parking is full).
        case claim
        /// Claim and attempt it as the destination's probe.
        case probe
        /// Leave it in the spool without a claim.
        case park
        /// Parking is full: move its due time durably to `until` (seconds since the epoch; a
        /// batched postpone, no claim) instead of holding it in memory.
        case postpone(until: Double)
    }

    /// Tunables.
    public struct Configuration: Sendable, Equatable {
        /// Consecutive connection-level failures that mark a destination down.
        public var failureThreshold = 5
        /// Seconds before a probe when the failure gave no retry time (no breaker open).
        public var fallbackInterval: Double = 60
        /// Shortest spacing between two probes of a destination (seconds).
        public var minimumProbeSpacing: Double = 1
        /// Most messages parked at once (memory bound); beyond it messages are postponed (see
        /// `postponeSeconds`), or claimed as usual when that is 0.
        public var maxParked = 500_000
        /// Beyond `maxParked`: seconds a message of a down destination is postponed by at least (at
        /// least until the destination's next probe, at most to its lifetime's end). 0: claim it.
        public var postponeSeconds: Double = 300
        /// The longest postponement: a destination down for longer than `postponeSeconds` has its
        /// messages postponed by as long as it has been down, up to this (fewer rewrites during a
        /// long outage; after recovery the parked messages drain first meanwhile).
        public var maxPostponeSeconds: Double = 3_600
        /// Most postponed messages planned to come due again in one second (`PostponeCalendar`):
        /// re-postponing a deep queue costs at most this many rewrites a second, instead of a wave
        /// one horizon after each burst. 0: every message gets its earliest time.
        public var postponeRate = 500
        /// How far ahead postponed messages may be spread (seconds; at least `maxPostponeSeconds`).
        /// Beyond `postponeRate` times this many, messages get the window's end.
        public var postponeWindowSeconds: Double = 14_400
        /// The furthest ahead any postpone can place a message (seconds): the calendars' span.
        public var longestPostponeSeconds: Double { max(postponeWindowSeconds, maxPostponeSeconds, postponeSeconds) }
        /// Seconds between two scans for parked messages whose lifetime ended.
        public var expirySweepInterval: Double = 10
        /// Seconds after its last failure that an up destination's failure count is forgotten.
        public var forgetAfter: Double = 600
        /// Seconds a destination must stay up before its own postpone calendar is dropped: one that
        /// flaps (up for a probe's success, down again) keeps its calendar, so its new postpones
        /// follow the earlier ones instead of bunching in the seconds already planned full.
        public var calendarKeepSeconds: Double = 600
        /// Creates the defaults.
        public init() {}
    }

    /// What is known about one destination.
    public struct Destination: Sendable, Equatable {
        /// Consecutive connection-level failures.
        public var failures = 0
        /// Parked: its due messages wait for a probe.
        public var down = false
        /// When the next probe may start.
        public var probeAt: Double = 0
        /// The queue ID of the probe in flight.
        public var probe: String?
        /// Messages parked for it.
        public var parked = 0
        /// Time of the last failure.
        public var lastFailure: Double = 0
        /// When it was marked down.
        public var downSince: Double = 0
    }

    private struct Entry: Sendable {
        /// The destination it is counted under (its first).
        var destination: String
        /// Its other destinations (nil for most messages: one domain), also down when parked.
        var others: [String]?
        var expiresAt: Double
    }

    /// The tunables.
    public let configuration: Configuration
    /// Known destinations (down, or with recent failures).
    public private(set) var destinations: [String: Destination] = [:]
    private var parked: [String: Entry] = [:]
    /// Parked messages with more than one destination.
    private var multiParked = 0
    private var nextExpiry = Double.infinity
    private var lastSweep = -Double.infinity
    /// Where postponed messages come due again (spread, see `Configuration.postponeRate`): shared by
    /// destinations beyond `maxOwnCalendars`.
    private var calendar: PostponeCalendar
    /// A calendar of its own per down destination (at most `maxOwnCalendars`), so one deep
    /// destination's postponed run does not push another destination's messages back behind it;
    /// they divide `postponeRate` between them.
    private var calendars: [String: PostponeCalendar] = [:]
    /// Since when each destination with a calendar of its own has been up (absent: down).
    private var calendarUpSince: [String: Double] = [:]
    /// Most destinations with a calendar of their own (memory: two bytes per second their postpones
    /// span, at most about 29 KB each at the default 4 h; `PostponeCalendar`).
    public static let maxOwnCalendars = 32

    /// Creates an empty parking. Pure.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        let window = configuration.longestPostponeSeconds
        calendar = PostponeCalendar(perSecond: configuration.postponeRate, windowSeconds: Int(min(window, 604_800)))
    }

    /// The time a message decided `.postpone(until:)` really gets, once its postpone is proposed:
    /// the first time at or after `until` when fewer than `postponeRate` postponed messages are
    /// planned to come due in the same second (`PostponeCalendar`), never past `expiresAt` (its
    /// lifetime's end, so it still bounces on time) nor the spreading window. Call it only for a
    /// postpone that is proposed: each call takes a place. Pure.
    ///
    /// `destination` (the message's first due destination) picks the calendar: its own while fewer
    /// than `maxOwnCalendars` destinations have one (a calendar whose destination is up again is
    /// dropped first), else the shared one.
    public mutating func spread(postponeUntil until: Double, expiresAt: Double, now: Double, destination: String? = nil) -> Double {
        guard configuration.postponeRate > 0, until < expiresAt else { return min(until, expiresAt) }
        let latest = min(expiresAt, now + Double(calendar.windowSeconds))
        if let destination, ownCalendarRoom(for: destination, now: now) {
            calendarUpSince[destination] = nil
            // Taken out and put back so the counts are mutated in place, not copied.
            var own = calendars.removeValue(forKey: destination)
                ?? PostponeCalendar(perSecond: calendar.perSecond, windowSeconds: calendar.windowSeconds)
            // The rate is shared among the destinations being postponed: in all, about
            // `postponeRate` come due again a second (earlier places keep the share they got).
            let share = calendar.perSecond / (calendars.count + 1)
            let at = own.place(earliest: until, latest: latest, now: now, limit: share)
            calendars[destination] = own
            return at
        }
        return calendar.place(earliest: until, latest: latest, now: now)
    }

    /// Whether `destination` has or may get a calendar of its own: drops the calendars of
    /// destinations that have been up for `calendarKeepSeconds` when all are taken.
    private mutating func ownCalendarRoom(for destination: String, now: Double) -> Bool {
        if calendars[destination] != nil || calendars.count < Self.maxOwnCalendars { return true }
        dropSettledCalendars(now: now)
        return calendars.count < Self.maxOwnCalendars
    }

    /// Drops the calendars of destinations up for at least `calendarKeepSeconds` (or up with no
    /// time known).
    private mutating func dropSettledCalendars(now: Double) {
        for name in calendars.keys where !(destinations[name]?.down ?? false) {
            guard let since = calendarUpSince[name], now - since < configuration.calendarKeepSeconds else {
                calendars[name] = nil
                calendarUpSince[name] = nil
                continue
            }
        }
    }

    /// Destinations with a calendar of their own. Pure.
    public var ownCalendarCount: Int { calendars.count }

    /// Messages parked now. Pure.
    public var parkedCount: Int { parked.count }

    /// Whether `queueID` is parked. Pure.
    public func isParked(_ queueID: String) -> Bool { parked[queueID] != nil }

    /// Whether `destination` is down (its due messages are parked). Pure.
    public func isDown(_ destination: String) -> Bool { destinations[destination]?.down ?? false }

    /// Decides what to do with `queueID`, due now for `destinations` (its due recipients' domains),
    /// whose lifetime ends at `expiresAt`. Parks it (under the first destination) only when every
    /// destination is down, no probe may start, it has not expired and parking has room. Pure.
    public mutating func decide(_ queueID: String, destinations due: [String], expiresAt: Double, now: Double) -> Decision {
        guard !due.isEmpty, expiresAt > now, parked[queueID] == nil else { return .claim }
        for name in due where !(destinations[name]?.down ?? false) { return .claim }
        for name in due {
            guard var d = destinations[name], d.probe == nil, d.probeAt <= now else { continue }
            d.probe = queueID
            destinations[name] = d
            return .probe
        }
        guard parked.count < configuration.maxParked else {
            guard configuration.postponeSeconds > 0 else { return .claim }
            var probeAt = Double.infinity
            var downFor = Double.infinity
            for name in due {
                probeAt = min(probeAt, destinations[name]?.probeAt ?? now)
                downFor = min(downFor, now - (destinations[name]?.downSince ?? now))
            }
            let horizon = min(max(configuration.postponeSeconds, downFor), max(configuration.postponeSeconds, configuration.maxPostponeSeconds))
            return .postpone(until: min(expiresAt, max(probeAt, now + horizon)))
        }
        parked[queueID] = Entry(destination: due[0], others: due.count > 1 ? Array(due.dropFirst()) : nil, expiresAt: expiresAt)
        if due.count > 1 { multiParked += 1 }
        destinations[due[0]]?.parked += 1
        nextExpiry = min(nextExpiry, expiresAt)
        return .park
    }

    /// Records that `queueID`'s attempt to `destination` failed at connection level on every host;
    /// `retryAt`: when its hosts may be tried again (the earliest circuit-breaker reopening), nil
    /// when unknown. Marks the destination down at the threshold; a failed probe parks it again
    /// until `retryAt`. Pure.
    public mutating func recordFailure(_ destination: String, queueID: String, now: Double, retryAt: Double?) {
        var d = destinations[destination] ?? Destination()
        d.failures += 1
        d.lastFailure = now
        if d.probe == queueID { d.probe = nil }
        if d.down || d.failures >= configuration.failureThreshold {
            if !d.down { d.downSince = now }
            d.down = true
            let next = retryAt ?? now + configuration.fallbackInterval
            d.probeAt = max(next, now + configuration.minimumProbeSpacing)
            calendarUpSince[destination] = nil
        }
        destinations[destination] = d
    }

    /// Records a success (a transaction reached the destination): it is up again. Returns the
    /// queue IDs released from parking (due again at once): those parked for it, including the
    /// messages it is one of several destinations of. With `now` its calendar is kept until it has
    /// been up for `calendarKeepSeconds` (a flapping destination's postpones keep spreading from
    /// where they were); without, it is dropped at once. Pure.
    public mutating func recordSuccess(_ destination: String, now: Double? = nil) -> [String] {
        if let now {
            if calendars[destination] != nil, calendarUpSince[destination] == nil { calendarUpSince[destination] = now }
        } else {
            calendars[destination] = nil
            calendarUpSince[destination] = nil
        }
        guard let d = destinations.removeValue(forKey: destination), d.parked > 0 || multiParked > 0 else { return [] }
        var released: [String] = []
        released.reserveCapacity(d.parked)
        for (id, entry) in parked where entry.destination == destination || entry.others?.contains(destination) == true {
            released.append(id)
        }
        for id in released { unpark(id) }
        return released
    }

    /// The attempt of `queueID` ended without a verdict on its destination (claim refused, message
    /// gone, another domain failed): frees the probe slot it held, if any. Pure.
    public mutating func attemptEnded(_ queueID: String) {
        for (name, d) in destinations where d.probe == queueID {
            destinations[name]?.probe = nil
        }
    }

    /// One parked message per down destination whose probe may start now: taken out of parking
    /// and recorded as the probe (claim it). Pure.
    public mutating func dueProbes(now: Double) -> [String] {
        var wanted = Set<String>()
        for (name, d) in destinations where d.down && d.probe == nil && d.probeAt <= now && d.parked > 0 {
            wanted.insert(name)
        }
        guard !wanted.isEmpty else { return [] }
        var probes: [String] = []
        for (id, entry) in parked where wanted.remove(entry.destination) != nil {
            probes.append(id)
            destinations[entry.destination]?.probe = id
            if wanted.isEmpty { break }
        }
        for id in probes { unpark(id) }
        return probes
    }

    /// Parked messages whose lifetime ended, taken out of parking (claim them: they bounce). Scans
    /// at most every `expirySweepInterval`. Pure.
    public mutating func expired(now: Double) -> [String] {
        guard now >= nextExpiry, now - lastSweep >= configuration.expirySweepInterval else { return [] }
        lastSweep = now
        var out: [String] = []
        var next = Double.infinity
        for (id, entry) in parked {
            if entry.expiresAt <= now { out.append(id) } else { next = min(next, entry.expiresAt) }
        }
        for id in out { unpark(id) }
        nextExpiry = next
        return out
    }

    /// When something parked needs the scheduler (a probe may start, a lifetime ends), nil when
    /// nothing is parked. Pure.
    public func nextEvent() -> Double? {
        guard !parked.isEmpty else { return nil }
        var next = nextExpiry.isFinite ? max(nextExpiry, lastSweep + configuration.expirySweepInterval) : Double.infinity
        for d in destinations.values where d.down && d.probe == nil && d.parked > 0 { next = min(next, d.probeAt) }
        return next.isFinite ? next : nil
    }

    /// Forgets destinations with nothing parked, no probe and no failure for `forgetAfter` (memory
    /// stays bounded by the destinations that are failing). Pure.
    public mutating func prune(now: Double) {
        destinations = destinations.filter {
            $0.value.parked > 0 || $0.value.probe != nil || now - $0.value.lastFailure < configuration.forgetAfter
        }
        dropSettledCalendars(now: now)
    }

    private mutating func unpark(_ id: String) {
        guard let entry = parked.removeValue(forKey: id) else { return }
        destinations[entry.destination]?.parked -= 1
        if entry.others != nil { multiParked -= 1 }
    }
}
