/// Spreads the new due times of postponed messages (see `DestinationParking.Decision.postpone`)
/// so that at most `perSecond` of them come due again in any one second: a postpone asks for the
/// first second at or after its earliest time that still has room, and gets a time inside it
/// (evenly spaced, so even one second's share trickles in). Without it every message postponed
/// while a destination is down comes due again together, one horizon later, and rewriting that
/// wave takes the spool writer's time from accepting mail; with it, re-postponing a deep queue
/// costs at most `perSecond` rewrites a second whatever the depth, and the queue is revisited
/// less often the deeper it is.
///
/// Memory: a 16-bit counter per second, in pages of `pageSeconds` seconds allocated when a
/// message is first placed in them and freed once the clock has passed them, so a calendar holds
/// only the stretch its placements span (a few pages for a destination down minutes or hours),
/// at most two bytes per second of `windowSeconds` when the whole window is planned. The counts
/// are only a plan: they are lost on a restart (messages keep the due times they were given) and a
/// postpone that later fails leaves its count behind (a second gets fewer than its share). When no
/// second before `latest` has room the message gets `latest` (the window's end, or its lifetime's
/// end so that it still bounces on time). Time is passed in (seconds since the epoch). Pure value.
public struct PostponeCalendar: Sendable {
    /// Most messages placed in one second (at most 65,535).
    public let perSecond: Int
    /// Seconds ahead of now that can be planned.
    public let windowSeconds: Int
    /// Seconds per page of counters.
    public static let pageSeconds = 256
    /// Pages of counters, a ring indexed by the absolute page (second / `pageSeconds`) modulo its
    /// length (enough for every page the window touches); each knows which page it is.
    private var pages: [Page?] = []
    /// The oldest second kept (seconds before it are gone).
    private var base: Int64 = 0
    /// Every second in `[fullFrom, fullTo)` is full (where a search starting in it may skip to).
    private var fullFrom: Int64 = 0
    private var fullTo: Int64 = 0

    private struct Page: Sendable {
        var number: Int64
        var counts: [UInt16]
    }

    /// Creates an empty calendar. Pure.
    public init(perSecond: Int, windowSeconds: Int) {
        self.perSecond = min(max(1, perSecond), Int(UInt16.max))
        self.windowSeconds = max(1, windowSeconds)
    }

    /// Messages placed in the second that starts at `second` (seconds since the epoch, within the
    /// window), 0 outside it. Pure.
    public func placed(inSecond second: Int64) -> Int {
        guard !pages.isEmpty, second >= base, second < base + Int64(windowSeconds) else { return 0 }
        return Int(count(second))
    }

    /// Seconds of counters held now (whole pages). Pure.
    public var allocatedSeconds: Int { pages.reduce(0) { $0 + ($1 == nil ? 0 : Self.pageSeconds) } }

    /// Plans one message for the first second at or after `earliest` with room, no later than
    /// `latest`, and returns its time: `earliest` itself when its second is empty, `latest` when
    /// nothing before it has room, `earliest` unplanned when it lies beyond the window. Pure.
    ///
    /// `limit` lowers the per-second cap for this placement (a destination's share of a rate that
    /// several calendars divide; nil: `perSecond`).
    public mutating func place(earliest: Double, latest: Double, now: Double, limit: Int? = nil) -> Double {
        let cap = UInt16(clamping: max(1, min(limit ?? perSecond, perSecond)))
        advance(to: Int64(now.rounded(.down)))
        let windowEnd = base + Int64(windowSeconds) - 1
        let first = max(Int64(earliest.rounded(.down)), base)
        let last = min(Int64(latest.rounded(.down)), windowEnd)
        guard earliest < latest else { return latest }
        guard first <= last else { return first > windowEnd ? earliest : latest }
        var s = first
        let inRun = first >= fullFrom && first <= fullTo
        if inRun { s = max(s, fullTo) }
        while s <= last, count(s) >= cap { s += 1 }
        // Remember the full run just crossed so the next search from near `first` skips it.
        if inRun {
            fullTo = max(fullTo, s)
        } else if s > first {
            fullFrom = first
            fullTo = s
        }
        guard s <= last else { return latest }
        let k = count(s)
        increment(s)
        let t = Double(s) + Double(k) / Double(cap)
        return min(max(earliest, t), latest)
    }

    private static func pageNumber(_ second: Int64) -> Int64 {
        second >= 0 ? second / Int64(pageSeconds) : (second + 1) / Int64(pageSeconds) - 1
    }

    private func slot(_ page: Int64) -> Int { Int(((page % Int64(pages.count)) + Int64(pages.count)) % Int64(pages.count)) }

    private func count(_ second: Int64) -> UInt16 {
        let p = Self.pageNumber(second)
        guard let page = pages[slot(p)], page.number == p else { return 0 }
        return page.counts[Int(second - p * Int64(Self.pageSeconds))]
    }

    private mutating func increment(_ second: Int64) {
        let p = Self.pageNumber(second)
        let i = slot(p)
        if pages[i]?.number != p { pages[i] = Page(number: p, counts: [UInt16](repeating: 0, count: Self.pageSeconds)) }
        pages[i]!.counts[Int(second - p * Int64(Self.pageSeconds))] += 1
    }

    /// Drops the seconds before `now` (their messages came due already): frees the pages wholly
    /// before it.
    private mutating func advance(to now: Int64) {
        if pages.isEmpty {
            // Every page the window [base, base + windowSeconds) touches gets its own slot.
            pages = [Page?](repeating: nil, count: windowSeconds / Self.pageSeconds + 2)
            base = now
        }
        guard now > base else { return }
        let current = Self.pageNumber(now)
        if Self.pageNumber(base) < current {
            for i in pages.indices where (pages[i]?.number ?? current) < current { pages[i] = nil }
        }
        base = now
    }
}
