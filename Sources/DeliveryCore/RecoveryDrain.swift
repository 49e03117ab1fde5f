/// What the delivery scheduler does when a destination comes back after an outage (issue 16): the
/// messages it postponed while the destination was down (`DestinationParking.Decision.postpone`,
/// due again at spread times up to hours ahead) are *pulled forward*: walked in due order in the
/// spool's postponed table (`SpoolStore.postponedEntries`: that destination's postponed mail and
/// nothing else; with `perDestinationIndex` off, the whole due index from the recovery time up to
/// the latest postponed time), made due now (one `SpoolCommand.pullForward` per scheduler pass for
/// all the messages it takes, or one `reschedule` each where the log does not write format 6) and
/// claimed at once. At most `pullAhead` pulled attempts of a destination are in flight, and at
/// most `pullShare` of the scheduler's `maxInFlight` over all destinations, counted in it
/// (`pullBudget`, `claimReserve`), so the pull follows the destination's shaped rate (its
/// attempts wait for rate-limiter tokens), never storms it, and fresh mail keeps the other half of
/// the attempts; when the destination goes down again
/// the pull stops and what is left keeps its postponed times (pulled again at the next recovery).
///
/// It also tells *fresh* mail (received since its destination came back) from the backlog, so the
/// scheduler claims fresh mail first and serves the two in turns at the rate limiter
/// (`FairLine`): fresh mail is not starved behind the backlog during the drain.
///
/// Memory: per destination one horizon and one pull cursor (at most `maxDestinations`), plus the
/// queue IDs of pulled attempts in flight (at most `pullAhead` each); nothing grows with the depth
/// of the queue. Nothing here is durable: a pull is a reschedule to now and a claim, so a crash at
/// any point leaves each message with its postponed due time, due now, or leased (recovered as
/// usual); its lifetime end (from its receipt) is never moved. After a restart the horizons are
/// gone, so until `unrecordedUntil` (the start plus the longest postponement) a recovery pulls at
/// least that far: mail postponed before the restart is pulled too. Times are ms since the epoch.
/// Pure value; the scheduler keeps one.
public struct RecoveryDrain: Sendable {
    /// Tunables.
    public struct Configuration: Sendable, Equatable {
        /// Most pulled attempts of one destination in flight at once (0: no pull).
        public var pullAhead = 64
        /// Most due-index entries read per destination per scheduler pass while pulling.
        public var readsPerPass = 256
        /// How long after its recovery a destination's mail is still split into fresh and backlog
        /// (ms); the split also ends when its pull is done and this much time has passed.
        public var keepMillis: Int64 = 3_600_000
        /// Most destinations with a horizon or a drain (memory bound).
        public var maxDestinations = 64
        /// Most recently postponed messages remembered per destination (its fresh mail postponed
        /// while the node still saw it down is pulled first at recovery).
        public var recentPerDestination = 1_024
        /// The spool lists postponed mail per destination (`SpoolStore.postponedEntries`): a
        /// recovery pulls all of the destination's postponed mail, whoever postponed it and when
        /// (an earlier run of the node, a member that owned the destination before), with no
        /// horizon needed; false pulls up to the horizon (a walk of the whole due index).
        public var perDestinationIndex = false
        /// Creates the defaults.
        public init() {}
    }

    /// Where a destination's pull stands: the next entries to read lie strictly after
    /// (`afterAt`, `afterID`) and at or before `through`.
    public struct Pull: Sendable, Equatable {
        /// Due time of the last entry read.
        public var afterAt: Int64
        /// Queue ID of the last entry read.
        public var afterID: String
        /// The latest postponed due time of the destination: the pull ends there.
        public var through: Int64

        /// Creates a position. Pure.
        public init(afterAt: Int64, afterID: String, through: Int64) {
            self.afterAt = afterAt
            self.afterID = afterID
            self.through = through
        }
    }

    /// A destination that came back.
    public struct Lane: Sendable, Equatable {
        /// When it came back: mail received since is fresh.
        public var recoveredAt: Int64
        /// Its pull, nil when done (or none was needed).
        public var pull: Pull?
        /// Postponed messages received since it was last seen failing: pulled before the cursor.
        public var first: [String] = []
    }

    /// The tunables.
    public let configuration: Configuration
    /// Destinations that came back, by name.
    public private(set) var lanes: [String: Lane] = [:]
    /// Latest postponed due time per destination that is (or was) down.
    public private(set) var horizons: [String: Int64] = [:]
    /// A postponed message remembered for `recovered`.
    private struct Recent: Sendable {
        var queueID: String
        var receivedAt: Int64
    }
    /// The most recently postponed messages per destination, oldest first (at most about
    /// `recentPerDestination` each).
    private var recent: [String: [Recent]] = [:]
    /// Pulled attempts in flight: queue ID → destination.
    private var pulled: [String: String] = [:]
    private var pulledPerDestination: [String: Int] = [:]
    /// Pulled-first messages (see `recovered`) whose attempt is not over.
    private var pulledFirst = Set<String>()
    /// Pulled messages whose due time is being moved to now (not claimed yet).
    private var moving = Set<String>()
    /// Messages pulled forward since start (figures and tests).
    public private(set) var pulledTotal = 0
    /// Mail may have been postponed up to this time by an earlier run of the node (or by a member
    /// that owned the destination before), which no horizon records: a recovery before it pulls
    /// through it (nil: nothing unrecorded).
    public private(set) var unrecordedUntil: Int64?
    /// Destinations seen delivering since start while `unrecordedUntil` applies, or already pulled
    /// through it once: the floor is not theirs (a destination up at start had nothing postponed
    /// by the earlier run left hidden; one pulled once needs no second walk). At most
    /// `upSinceStartLimit`; beyond that the floor is given up (mail comes due at its spread time).
    private var upSinceStart = Set<String>()
    /// Destinations a transaction reached since start (see `firstDelivery`).
    private var deliveredSinceStart = Set<String>()
    /// Most destinations `upSinceStart` (and `deliveredSinceStart`) holds.
    public static let upSinceStartLimit = 4_096

    /// Creates an empty drain; `unrecordedUntil` as above (the scheduler passes its start plus the
    /// longest postponement). Pure.
    public init(configuration: Configuration = Configuration(), unrecordedUntil: Int64? = nil) {
        self.configuration = configuration
        self.unrecordedUntil = unrecordedUntil
    }

    /// Records that a message of `destination` was postponed to `until`: the destination's pull
    /// at recovery reaches at least that far. With `queueID` (and its receipt time) it is also one
    /// of the destination's most recently postponed (see `recovered`). Pure.
    public mutating func postponed(_ destination: String, until: Int64, queueID: String? = nil, receivedAt: Int64 = 0) {
        if let queueID, configuration.recentPerDestination > 0 {
            var list = recent.removeValue(forKey: destination) ?? []
            list.append(Recent(queueID: queueID, receivedAt: receivedAt))
            if list.count >= 2 * configuration.recentPerDestination { list.removeFirst(list.count - configuration.recentPerDestination) }
            recent[destination] = list
        }
        if let h = horizons[destination] {
            if until > h { horizons[destination] = until }
            return
        }
        if horizons.count >= configuration.maxDestinations, let oldest = horizons.min(by: { $0.value < $1.value }) {
            horizons[oldest.key] = nil
            recent[oldest.key] = nil
        }
        horizons[destination] = until
    }

    /// `destination` came back at `now`, last seen failing at `lastFailure`: mail received from
    /// now on is fresh, its postponed messages (due after `now`, up to its horizon) are pulled,
    /// and those of its most recently postponed received since that failure (new mail the node
    /// postponed only because it could not tell the destination was back) are pulled first and
    /// served as fresh (`isPulledFirst`). So are those whose postpone has not committed yet
    /// (`pending`: still held or proposed): it lands after the walk has passed. Pure.
    public mutating func recovered(_ destination: String, now: Int64, lastFailure: Int64? = nil,
                                   pending: (String) -> Bool = { _ in false }) {
        let since = min(now, lastFailure ?? now)
        var through = horizons.removeValue(forKey: destination)
        if let unrecorded = unrecordedUntil, unrecorded > now, !upSinceStart.contains(destination) {
            through = max(through ?? unrecorded, unrecorded)
        }
        if configuration.perDestinationIndex { through = .max }
        delivered(destination, now: now)
        let pull = configuration.pullAhead > 0 ? through.flatMap { $0 > now ? Pull(afterAt: now, afterID: "", through: $0) : nil } : nil
        let first = configuration.pullAhead > 0 ? (recent.removeValue(forKey: destination) ?? []).filter { $0.receivedAt >= since || pending($0.queueID) }.map(\.queueID) : []
        recent[destination] = nil
        if lanes[destination] == nil, lanes.count >= configuration.maxDestinations,
           let oldest = lanes.min(by: { $0.value.recoveredAt < $1.value.recoveredAt }) {
            lanes[oldest.key] = nil
        }
        lanes[destination] = Lane(recoveredAt: now, pull: pull, first: Array(first.suffix(configuration.recentPerDestination)))
    }

    /// A transaction reached `destination` at `now` (after `recovered` when it was down): mail an
    /// earlier run postponed for it is no longer pulled by the start floor (see `unrecordedUntil`).
    /// Pure.
    public mutating func delivered(_ destination: String, now: Int64) {
        guard let unrecorded = unrecordedUntil else { return }
        guard unrecorded > now, upSinceStart.count < Self.upSinceStartLimit || upSinceStart.contains(destination) else {
            unrecordedUntil = nil
            upSinceStart = []
            return
        }
        upSinceStart.insert(destination)
    }

    /// Whether a transaction that reached `destination` is the first this run (and no lane is
    /// open for it): then the scheduler looks for postponed mail of it in the spool (mail another
    /// member postponed before this node took the destination over, or an earlier run of this
    /// node, which no recovery here would pull: this node never saw the destination down) and
    /// pulls it (`recovered`). At most `upSinceStartLimit` destinations are remembered; past that
    /// none is looked at any more. Only with `perDestinationIndex` (the look is one seek). Pure.
    public mutating func firstDelivery(_ destination: String) -> Bool {
        guard configuration.perDestinationIndex, configuration.pullAhead > 0, lanes[destination] == nil,
              deliveredSinceStart.count < Self.upSinceStartLimit else { return false }
        return deliveredSinceStart.insert(destination).inserted
    }

    /// The next of `destination`'s fresh postponed messages to pull before its cursor's, nil when
    /// none is left. Pure.
    public mutating func nextFirst(_ destination: String) -> String? {
        guard var lane = lanes[destination], !lane.first.isEmpty else { return nil }
        let id = lane.first.removeFirst()
        lanes[destination] = lane
        pulledFirst.insert(id)
        return id
    }

    /// `id`, taken by `nextFirst`, could not be pulled yet (its postpone has not committed): it
    /// goes back to the end of `destination`'s list, tried again at a later pass. Pure.
    public mutating func notYet(_ destination: String, _ id: String) {
        pulledFirst.remove(id)
        guard var lane = lanes[destination] else { return }
        lane.first.append(id)
        lanes[destination] = lane
    }

    /// Whether `queueID` was pulled first (see `recovered`) and its attempt is not over. Pure.
    public func isPulledFirst(_ queueID: String) -> Bool { pulledFirst.contains(queueID) }

    /// `destination` is down again: its pull stops (no storm of pulled attempts against a
    /// destination that fails) and what it had not reached is pulled at the next recovery. Pure.
    public mutating func wentDown(_ destination: String) {
        guard let lane = lanes.removeValue(forKey: destination) else { return }
        if let pull = lane.pull { postponed(destination, until: pull.through) }
    }

    /// Destinations with a pull under way. Pure.
    public var pulling: [String] { lanes.compactMap { $0.value.pull == nil && $0.value.first.isEmpty ? nil : $0.key } }

    /// Where `destination`'s pull stands, nil when it has none. Pure.
    public func pull(of destination: String) -> Pull? { lanes[destination]?.pull }

    /// Pulled attempts `destination` may still start now. Pure.
    public func pullRoom(_ destination: String) -> Int {
        guard let lane = lanes[destination], lane.pull != nil || !lane.first.isEmpty else { return 0 }
        return max(0, configuration.pullAhead - (pulledPerDestination[destination] ?? 0))
    }

    /// The pull of `destination` read up to the entry (`at`, `queueID`). Pure.
    public mutating func advance(_ destination: String, at: Int64, queueID: String) {
        guard var lane = lanes[destination], var pull = lane.pull else { return }
        pull.afterAt = at
        pull.afterID = queueID
        lane.pull = pull
        lanes[destination] = lane
    }

    /// The pull of `destination` reached its horizon. Pure.
    public mutating func finishPull(_ destination: String) {
        lanes[destination]?.pull = nil
    }

    /// `queueID` was taken by `destination`'s pull: its due time is being moved to now (it counts
    /// as in flight from here; see `claimed`). Pure.
    public mutating func started(_ queueID: String, destination: String) {
        guard pulled.updateValue(destination, forKey: queueID) == nil else { return }
        pulledPerDestination[destination, default: 0] += 1
        pulledTotal += 1
        moving.insert(queueID)
    }

    /// The pulled `queueID` is due now and its attempt was claimed (or not: then call `ended`). Pure.
    public mutating func claimed(_ queueID: String) {
        moving.remove(queueID)
    }

    /// Ends the pulled attempts for which `gone` is true (their attempt is no longer in flight),
    /// except those whose due time is still being moved. Pure.
    public mutating func endAll(where gone: (String) -> Bool) {
        for id in pulled.keys where !moving.contains(id) && gone(id) { ended(id) }
    }

    /// Moving the due times of `items` (each with the due time its pull read) failed: the log
    /// refused or lost the proposal (a leader change, say), so they stay postponed. Their attempts
    /// end, and each one's destination (if it is still recovering) reads them again: its pull is set
    /// back to the earliest of their due times, or, when it had already reached its horizon, given a
    /// new one through the latest. Without this they would wait for their postponed times. Pure.
    public mutating func moveFailed(_ items: [(queueID: String, seen: Int64)]) {
        var spans: [String: (from: Int64, through: Int64)] = [:]
        for item in items {
            guard let destination = pulled[item.queueID] else { continue }
            let span = spans[destination]
            spans[destination] = (min(span?.from ?? item.seen, item.seen), max(span?.through ?? item.seen, item.seen))
        }
        for item in items { ended(item.queueID) }
        for (destination, span) in spans {
            guard var lane = lanes[destination] else { continue }
            if var pull = lane.pull {
                if span.from < pull.afterAt || (span.from == pull.afterAt && !pull.afterID.isEmpty) {
                    pull.afterAt = span.from
                    pull.afterID = ""  // before every queue ID due at `from`
                }
                pull.through = max(pull.through, span.through)
                lane.pull = pull
            } else {
                lane.pull = Pull(afterAt: span.from, afterID: "", through: span.through)
            }
            lanes[destination] = lane
        }
    }

    /// The attempt of `queueID` ended (any way). Pure.
    public mutating func ended(_ queueID: String) {
        moving.remove(queueID)
        pulledFirst.remove(queueID)
        guard let destination = pulled.removeValue(forKey: queueID) else { return }
        let n = (pulledPerDestination[destination] ?? 1) - 1
        pulledPerDestination[destination] = n > 0 ? n : nil
    }

    /// Whether `queueID` is a pulled attempt in flight. Pure.
    public func isPulled(_ queueID: String) -> Bool { pulled[queueID] != nil }

    /// Pulled attempts in flight. Pure.
    public var pulledCount: Int { pulled.count }

    /// Pulled messages whose due time is being moved (not claimed yet, so not in the scheduler's
    /// attempts but counted in its `maxInFlight`). Pure.
    public var movingCount: Int { moving.count }

    /// Most pulled attempts in flight at once, over all destinations: half of the scheduler's
    /// `maxInFlight`, so the other half always serves due mail (fresh mail first). Pure.
    public static func pullShare(maxInFlight: Int) -> Int { max(0, maxInFlight / 2) }

    /// Pulled attempts that may start now, over all destinations: within the pulls' share and
    /// within `maxInFlight` counting `inFlight` (the scheduler's attempts, pulled ones included)
    /// and the pulled messages still being moved. Pure.
    public func pullBudget(maxInFlight: Int, inFlight: Int) -> Int {
        max(0, min(Self.pullShare(maxInFlight: maxInFlight) - pulledCount, maxInFlight - inFlight - movingCount))
    }

    /// Attempts the scheduler's other claims leave free for pulls while destinations are pulling:
    /// what the pulls could start now (their rooms, within their share), so a scheduler busy with
    /// a released backlog still pulls. 0 when nothing is pulling. Pure.
    public func claimReserve(maxInFlight: Int) -> Int {
        let rooms = pulling.reduce(0) { $0 + pullRoom($1) }
        return max(0, min(Self.pullShare(maxInFlight: maxInFlight) - pulledCount, rooms))
    }

    /// Whether a message of `destination` received at `receivedAt` is fresh: its destination came
    /// back and it was received since. Pure.
    public func isFresh(_ destination: String, receivedAt: Int64) -> Bool {
        guard let lane = lanes[destination] else { return false }
        return receivedAt >= lane.recoveredAt
    }

    /// The earliest recovery among the destinations that came back (mail received before it is
    /// fresh for none of them), nil when none did. Pure.
    public var freshSince: Int64? { lanes.values.map(\.recoveredAt).min() }

    /// Forgets destinations that came back more than `keepMillis` ago and have no pull left. Pure.
    public mutating func prune(now: Int64) {
        lanes = lanes.filter { $0.value.pull != nil || !$0.value.first.isEmpty || now - $0.value.recoveredAt < configuration.keepMillis }
    }

    /// Receipt time encoded in a Sendarix queue ID (its first 9 Crockford base32 characters, ms
    /// since the epoch), nil for an ID not made that way. Lets a walk of the due index tell mail
    /// received long ago from fresh mail without reading records. Pure.
    public static func receivedMillis(queueID: String) -> Int64? {
        var value: Int64 = 0
        var n = 0
        for c in queueID.utf8 {
            guard n < 9 else { break }
            let d: Int64
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = Int64(c - UInt8(ascii: "0"))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                guard let i = crockford.firstIndex(of: c) else { return nil }
                d = Int64(i)
            default: return nil
            }
            value = value << 5 | d
            n += 1
        }
        return n == 9 && queueID.utf8.count == 20 ? value : nil
    }

    private static let crockford = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
}
