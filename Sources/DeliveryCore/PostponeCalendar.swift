/// Spreads the new due times of postponed messages (see `DestinationParking.Decision.postpone`)
/// so that at most `perSecond` of them come due again in any one second: a postpone asks for the
/// first second at or after its earliest time that still has room, and gets a time inside it
/// (evenly spaced, so even one second's share trickles in). Without it every message postponed
/// while a destination is down comes due again together, one horizon later, and rewriting that
/// wave takes the spool writer's time from accepting mail; with it, re-postponing a deep queue
/// costs at most `perSecond` rewrites a second whatever the depth, and the queue is revisited
/// less often the deeper it is.
///
/// Memory is one counter per second of `windowSeconds` (allocated on first use). The counts are
/// only a plan: they are lost on a restart (messages keep the due times they were given) and a
/// postpone that later fails leaves its count behind (a second gets fewer than its share). When no
/// second before `latest` has room the message gets `latest` (the window's end, or its lifetime's
/// end so that it still bounces on time). Time is passed in (seconds since the epoch). Pure value.
public struct PostponeCalendar: Sendable {
    /// Most messages placed in one second.
    public let perSecond: Int
    /// Seconds ahead of now that can be planned.
    public let windowSeconds: Int
    /// Messages placed per second, a ring indexed by the absolute second modulo `windowSeconds`.
    private var counts: [Int32] = []
    /// The oldest second kept (seconds before it are gone from the ring).
    private var base: Int64 = 0
    /// Every second in `[fullFrom, fullTo)` is full (where a search starting in it may skip to).
    private var fullFrom: Int64 = 0
    private var fullTo: Int64 = 0

    /// Creates an empty calendar. Pure.
    public init(perSecond: Int, windowSeconds: Int) {
        self.perSecond = max(1, perSecond)
        self.windowSeconds = max(1, windowSeconds)
    }

    /// Messages placed in the second that starts at `second` (seconds since the epoch, within the
    /// window), 0 outside it. Pure.
    public func placed(inSecond second: Int64) -> Int {
        guard !counts.isEmpty, second >= base, second < base + Int64(windowSeconds) else { return 0 }
        return Int(counts[slot(second)])
    }

    /// Plans one message for the first second at or after `earliest` with room, no later than
    /// `latest`, and returns its time: `earliest` itself when its second is empty, `latest` when
    /// nothing before it has room, `earliest` unplanned when it lies beyond the window. Pure.
    ///
    /// `limit` lowers the per-second cap for this placement (a destination's share of a rate that
    /// several calendars divide; nil: `perSecond`).
    public mutating func place(earliest: Double, latest: Double, now: Double, limit: Int? = nil) -> Double {
        let cap = Int32(clamping: max(1, min(limit ?? perSecond, perSecond)))
        advance(to: Int64(now.rounded(.down)))
        let windowEnd = base + Int64(windowSeconds) - 1
        let first = max(Int64(earliest.rounded(.down)), base)
        let last = min(Int64(latest.rounded(.down)), windowEnd)
        guard earliest < latest else { return latest }
        guard first <= last else { return first > windowEnd ? earliest : latest }
        var s = first
        let inRun = first >= fullFrom && first <= fullTo
        if inRun { s = max(s, fullTo) }
        while s <= last, counts[slot(s)] >= cap { s += 1 }
        // Remember the full run just crossed so the next search from near `first` skips it.
        if inRun {
            fullTo = max(fullTo, s)
        } else if s > first {
            fullFrom = first
            fullTo = s
        }
        guard s <= last else { return latest }
        let k = counts[slot(s)]
        counts[slot(s)] = k + 1
        let t = Double(s) + Double(k) / Double(cap)
        return min(max(earliest, t), latest)
    }

    private func slot(_ second: Int64) -> Int { Int(second % Int64(windowSeconds)) }

    /// Drops the seconds before `now` (their messages came due already).
    private mutating func advance(to now: Int64) {
        if counts.isEmpty {
            counts = [Int32](repeating: 0, count: windowSeconds)
            base = now
        }
        guard now > base else { return }
        if now - base >= Int64(windowSeconds) {
            for i in counts.indices { counts[i] = 0 }
        } else {
            for s in base..<now { counts[slot(s)] = 0 }
        }
        base = now
    }
}
