import DeliveryCore
import Testing

/// The postpone calendar holds counters only for the stretch its placements span
/// (`PostponeCalendar`: 16-bit counters in pages allocated on use and freed once passed).
@Suite("Postpone calendar memory")
struct PostponeCalendarMemoryTests {
    @Test("a 7-day window with a deep postponed run holds counters only for the seconds it spans, and frees them once passed")
    func sparse() {
        let page = PostponeCalendar.pageSeconds
        var c = PostponeCalendar(perSecond: 500, windowSeconds: 604_800)
        #expect(c.allocatedSeconds == 0)
        let now = 1_700_000_000.0
        var last = 0.0
        for _ in 0..<100_000 { last = c.place(earliest: now + 300, latest: now + 604_800, now: now) }
        #expect(last >= now + 499 && last < now + 500, "100,000 at 500 a second span 200 s: \(last - now)")
        #expect(c.allocatedSeconds <= 2 * page, "\(c.allocatedSeconds) seconds of counters (the window has 604,800)")
        // The clock passes the run: its pages go with the next placement.
        _ = c.place(earliest: now + 3_000, latest: now + 604_800, now: now + 2_000)
        #expect(c.allocatedSeconds == page, "\(c.allocatedSeconds) seconds of counters after the run passed")
        #expect(c.placed(inSecond: Int64(now) + 300) == 0)
    }

    @Test("pages reused around the ring start empty: a second a full window later is not pushed by old counts")
    func ringReuse() {
        let page = Int64(PostponeCalendar.pageSeconds)
        var c = PostponeCalendar(perSecond: 2, windowSeconds: 600)
        let t0 = 1_000 * page  // a page boundary
        for _ in 0..<4 { _ = c.place(earliest: Double(t0 + 10), latest: Double(t0 + 500), now: Double(t0)) }
        #expect(c.placed(inSecond: t0 + 10) == 2 && c.placed(inSecond: t0 + 11) == 2)
        // Across a page boundary inside the window.
        for _ in 0..<3 { _ = c.place(earliest: Double(t0 + page - 1), latest: Double(t0 + 599), now: Double(t0)) }
        #expect(c.placed(inSecond: t0 + page - 1) == 2 && c.placed(inSecond: t0 + page) == 1)
        // Many windows later the same ring slots hold other pages: they start from zero.
        for k in 1...5 {
            let t = t0 + Int64(k) * 4 * page
            #expect(c.place(earliest: Double(t + 10), latest: Double(t + 500), now: Double(t)) == Double(t + 10),
                    "round \(k): a fresh second gives its earliest time")
            #expect(c.placed(inSecond: t + 10) == 1 && c.placed(inSecond: t + 11) == 0)
        }
    }
}
