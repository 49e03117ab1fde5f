import DeliveryCore
import Testing

/// Spreading postponed due times (`PostponeCalendar`, `DestinationParking.Configuration.postponeRate`)
/// with a hand-driven clock: postponed messages come due again in a trickle, not as a wave.
@Suite("Postpone calendar")
struct PostponeCalendarTests {
    @Test("at most perSecond messages are planned in any second, evenly spaced, the first at its earliest time")
    func trickle() {
        var c = PostponeCalendar(perSecond: 4, windowSeconds: 100)
        let times = (0..<10).map { _ in c.place(earliest: 50.25, latest: 90, now: 10) }
        #expect(times[0] == 50.25, "an empty second gives the earliest time itself")
        #expect(Array(times[1...3]) == [50.25, 50.5, 50.75], "the rest of its share, never before the earliest")
        #expect(Array(times[4...7]) == [51, 51.25, 51.5, 51.75])
        #expect(Array(times[8...9]) == [52, 52.25])
        #expect(c.placed(inSecond: 50) == 4 && c.placed(inSecond: 51) == 4 && c.placed(inSecond: 52) == 2)
        // A later earliest time in a free second is not pushed.
        #expect(c.place(earliest: 70, latest: 90, now: 11) == 70)
    }

    @Test("a full window gives the latest time (its lifetime's end); an earliest time beyond the window is kept; past seconds are freed")
    func bounds() {
        var c = PostponeCalendar(perSecond: 2, windowSeconds: 20)
        for _ in 0..<6 { _ = c.place(earliest: 10, latest: 13, now: 0) }
        #expect(c.place(earliest: 10, latest: 12.5, now: 0) == 12.5, "no room before the latest: the latest")
        #expect(c.place(earliest: 10, latest: 40, now: 0) == 13, "room after the full run")
        #expect(c.place(earliest: 35, latest: 60, now: 0) == 35, "beyond the window (0..19): unplanned")
        #expect(c.place(earliest: 9, latest: 8, now: 0) == 8, "the latest caps the earliest")
        // Once the clock passes seconds 10-13 they are forgotten; a wrap of the ring reuses them.
        #expect(c.place(earliest: 30, latest: 60, now: 20) == 30 && c.placed(inSecond: 30) == 1)
        #expect(c.placed(inSecond: 10) == 0)
    }

    /// A down destination whose messages (20,000 arriving at 1,000 a second for 20 s) overflow
    /// parking: simulated second by second, every message due is decided again (postponed or,
    /// after its lifetime, claimed to bounce; a probe fails again). Returns the most re-postpones
    /// (messages postponed a second time or more) in one second and the latest bounce delay.
    static func simulate(rate: Int) -> (maxRepostponesPerSecond: Int, total: Int, lateBounce: Double, bounced: Int) {
        var c = DestinationParking.Configuration()
        c.failureThreshold = 1
        c.maxParked = 1
        c.postponeSeconds = 30
        c.maxPostponeSeconds = 60
        c.postponeRate = rate
        c.postponeWindowSeconds = 600
        var p = DestinationParking(configuration: c)
        p.recordFailure("down.test", queueID: "f", now: 0, retryAt: 10)
        _ = p.decide("parked", destinations: ["down.test"], expiresAt: 100_000, now: 0)
        let horizon = 1_000
        var buckets = [[Int]](repeating: [], count: horizon + 1)
        var expires: [Double] = []
        var postponedBefore: [Bool] = []
        var maxRepost = 0, total = 0, late = 0.0, bounced = 0
        for second in 0..<horizon {
            let now = Double(second + 1)
            if second < 20 {
                for _ in 0..<1_000 {
                    buckets[second].append(expires.count)
                    expires.append(Double(second) + 500)
                    postponedBefore.append(false)
                }
            }
            var repost = 0
            for id in buckets[second] {
                switch p.decide("m\(id)", destinations: ["down.test"], expiresAt: expires[id], now: now) {
                case .postpone(let earliest):
                    let until = p.spread(postponeUntil: earliest, expiresAt: expires[id], now: now)
                    #expect(until <= expires[id] && until >= earliest, "never past its lifetime's end, never early")
                    if postponedBefore[id] { repost += 1 }
                    postponedBefore[id] = true
                    total += 1
                    buckets[min(horizon, max(second + 1, Int(until)))].append(id)
                case .probe:
                    // An attempt (it fails): its next postpone is a first one again.
                    p.recordFailure("down.test", queueID: "m\(id)", now: now, retryAt: now + 10)
                    postponedBefore[id] = false
                    buckets[min(horizon, second + 1)].append(id)
                case .claim:
                    late = max(late, now - expires[id])
                    bounced += 1
                case .park:
                    Issue.record("parking is full")
                }
            }
            maxRepost = max(maxRepost, repost)
        }
        return (maxRepost, total, late, bounced)
    }

    @Test("a deep postponed queue is re-postponed at most postponeRate a second, every message still bounces on time")
    func noWave() {
        let spread = Self.simulate(rate: 200)
        #expect(spread.maxRepostponesPerSecond <= 200, "\(spread)")
        #expect(spread.bounced == 20_000 && spread.lateBounce <= 1, "\(spread)")
        // Without spreading, the 20,000 come due again together one horizon later.
        let wave = Self.simulate(rate: 0)
        #expect(wave.maxRepostponesPerSecond >= 900, "\(wave)")
        #expect(spread.total < wave.total, "fewer rewrites in all: \(spread.total) against \(wave.total)")
    }

    @Test("spreading a postpone never passes the message's lifetime end, nor makes it due earlier")
    func spreadCapped() {
        var c = DestinationParking.Configuration()
        c.postponeRate = 2
        c.postponeWindowSeconds = 1_000
        var p = DestinationParking(configuration: c)
        let times = (0..<7).map { _ in p.spread(postponeUntil: 100, expiresAt: 102, now: 0) }
        #expect(times == [100, 100.5, 101, 101.5, 102, 102, 102], "\(times): once full up to it, the lifetime's end")
        #expect(p.spread(postponeUntil: 300, expiresAt: 200, now: 0) == 200)
        c.postponeRate = 0
        var off = DestinationParking(configuration: c)
        #expect((0..<3).map { _ in off.spread(postponeUntil: 100, expiresAt: 102, now: 0) } == [100, 100, 100], "0 turns spreading off")
    }

    @Test("one destination's deep postponed run does not push another destination's postpones back; the shared calendar would")
    func ownCalendarPerDestination() {
        var c = DestinationParking.Configuration()
        c.postponeRate = 10
        c.postponeWindowSeconds = 3_600
        var p = DestinationParking(configuration: c)
        // 10,000 messages of a.test fill 1,000 seconds from now + 300.
        for _ in 0..<10_000 { _ = p.spread(postponeUntil: 300, expiresAt: 90_000, now: 0, destination: "a.test") }
        let b = p.spread(postponeUntil: 300, expiresAt: 90_000, now: 0, destination: "b.test")
        #expect(b < 301, "b.test gets its own earliest second, not the end of a.test's run: \(b)")
        #expect(p.ownCalendarCount == 2)
        // Two destinations share the rate: b.test's next 99 take 5 a second, not 10.
        var lastB = b
        for _ in 0..<99 { lastB = p.spread(postponeUntil: 300, expiresAt: 90_000, now: 0, destination: "b.test") }
        #expect(lastB >= 319, "b.test's share of the rate is half: \(lastB)")
        let shared = p.spread(postponeUntil: 300, expiresAt: 90_000, now: 0)
        #expect(shared < 301, "the shared calendar is untouched by own calendars: \(shared)")
        // Within one destination the cap still holds: a.test's next postpone lands after its run.
        let a = p.spread(postponeUntil: 300, expiresAt: 90_000, now: 0, destination: "a.test")
        #expect(a >= 1_300, "\(a)")
        _ = p.recordSuccess("b.test")
        #expect(p.ownCalendarCount == 1, "a destination that is up again drops its calendar")
    }

    @Test("beyond maxOwnCalendars destinations share one calendar; calendars of destinations no longer down make room")
    func ownCalendarBound() {
        var c = DestinationParking.Configuration()
        c.postponeRate = 1
        c.postponeWindowSeconds = 3_600
        c.failureThreshold = 1
        var p = DestinationParking(configuration: c)
        for i in 0..<(DestinationParking.maxOwnCalendars + 5) {
            p.recordFailure("d\(i).test", queueID: "m\(i)", now: 0, retryAt: nil)
            #expect(p.isDown("d\(i).test"))
            _ = p.spread(postponeUntil: 300, expiresAt: 90_000, now: 0, destination: "d\(i).test")
        }
        #expect(p.ownCalendarCount == DestinationParking.maxOwnCalendars, "bounded memory")
        // Past the bound a destination shares the calendar: its second postpone waits for room there.
        let last = "d\(DestinationParking.maxOwnCalendars + 4).test"
        #expect(p.spread(postponeUntil: 300, expiresAt: 90_000, now: 0, destination: last) >= 301)
        // A destination that is no longer down gives its calendar up to a new one.
        _ = p.recordSuccess("d0.test")
        #expect(p.ownCalendarCount == DestinationParking.maxOwnCalendars - 1)
        p.recordFailure("new.test", queueID: "n", now: 0, retryAt: nil)
        #expect(p.spread(postponeUntil: 300, expiresAt: 90_000, now: 0, destination: "new.test") < 301)
        #expect(p.ownCalendarCount == DestinationParking.maxOwnCalendars)
    }
}
