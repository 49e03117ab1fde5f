import Testing
@testable import NetworkIO

@Suite("TimerQueue")
struct TimerQueueTests {
    @Test("a timer armed and cancelled for every message leaves storage bounded by the live timers, not by the messages")
    func cancelledTimersArePruned() {
        var q = TimerQueue()
        // Ten long-lived timers (idle sessions), then 100,000 messages each arming and cancelling a
        // ten-minute reply timer, as a pooled delivery connection does.
        for i in 0..<10 { _ = q.add(deadline: 1_000_000_000_000 + UInt64(i)) {} }
        for n in 0..<100_000 {
            let id = q.add(deadline: 600_000_000_000 + UInt64(n)) {}
            q.cancel(id)
        }
        #expect(q.liveCount == 10)
        #expect(q.storedCount <= 2 * TimerQueue.compactionFloor + 2, "held \(q.storedCount) entries")
    }

    @Test("after compactions the remaining timers still fire in deadline order and cancelled ones never fire")
    func orderSurvivesCompaction() {
        var q = TimerQueue()
        var fired: [UInt64] = []
        var keep: [UInt64] = []
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let deadline = UInt64.random(in: 1...1_000_000, using: &rng)
            let id = q.add(deadline: deadline) { fired.append(deadline) }
            if Bool.random(using: &rng) { q.cancel(id) } else { keep.append(deadline) }
        }
        var now: UInt64 = 0
        while now <= 1_000_000 {
            now += 10_000
            for body in q.takeDue(now: now) { body() }
        }
        #expect(fired.count == keep.count)
        #expect(fired == keep.sorted())
        #expect(q.storedCount == 0)
        #expect(q.millisecondsUntilNext(now: now) == -1)
    }
}
