import DeliveryCore
import Testing

/// A destination that flaps (a probe gets through, then it fails again) keeps its own postpone
/// calendar until it has been up for `calendarKeepSeconds` (issue 16 review finding): its new
/// postpones follow the ones already planned instead of bunching in the same seconds. Hand-driven
/// clock.
@Suite("Postpone calendar of a flapping destination")
struct CalendarFlappingTests {
    static func parking() -> DestinationParking {
        var c = DestinationParking.Configuration()
        c.postponeRate = 10
        c.postponeWindowSeconds = 3_600
        c.failureThreshold = 1
        c.calendarKeepSeconds = 600
        return DestinationParking(configuration: c)
    }

    @Test("up for 5 s between two outages: the second outage's postpones continue after the first's, at most 10 a second")
    func flapKeepsCalendar() {
        var p = Self.parking()
        p.recordFailure("flap.test", queueID: "q0", now: 0, retryAt: 10)
        // 100 postpones at t = 0 asking for 300 s: seconds 300-309, 10 each.
        var first: [Double] = []
        for _ in 0..<100 { first.append(p.spread(postponeUntil: 300, expiresAt: 90_000, now: 0, destination: "flap.test")) }
        #expect(first.max()! < 310)
        // A probe gets through at 10 s, the destination fails again at 15 s.
        _ = p.recordSuccess("flap.test", now: 10)
        p.prune(now: 12)
        #expect(p.ownCalendarCount == 1, "kept while up for less than calendarKeepSeconds")
        p.recordFailure("flap.test", queueID: "q1", now: 15, retryAt: 25)
        // 100 more asking for 285 s from 15 s (the same 300): they go after the first run.
        var second: [Double] = []
        for _ in 0..<100 { second.append(p.spread(postponeUntil: 300, expiresAt: 90_000, now: 15, destination: "flap.test")) }
        #expect(second.min()! >= 310, "no bunching in the seconds the first outage filled: \(second.min()!)")
        var perSecond: [Int: Int] = [:]
        for t in first + second { perSecond[Int(t), default: 0] += 1 }
        #expect(perSecond.values.max()! <= 10, "at most postponeRate a second: \(perSecond.values.max()!)")
    }

    @Test("a destination up for calendarKeepSeconds gives its calendar up; one down again before that keeps it")
    func settledDropsCalendar() {
        var p = Self.parking()
        p.recordFailure("a.test", queueID: "a", now: 0, retryAt: 10)
        p.recordFailure("b.test", queueID: "b", now: 0, retryAt: 10)
        _ = p.spread(postponeUntil: 300, expiresAt: 90_000, now: 0, destination: "a.test")
        _ = p.spread(postponeUntil: 300, expiresAt: 90_000, now: 0, destination: "b.test")
        _ = p.recordSuccess("a.test", now: 100)
        _ = p.recordSuccess("b.test", now: 100)
        p.recordFailure("b.test", queueID: "b2", now: 200, retryAt: 210)
        p.prune(now: 699)
        #expect(p.ownCalendarCount == 2, "a.test up for 599 s only")
        p.prune(now: 700)
        #expect(p.ownCalendarCount == 1, "a.test up for 600 s: dropped; b.test is down again: kept")
    }
}
