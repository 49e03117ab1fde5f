/// A min-heap of deadlines for one event loop. Not thread-safe; owned by the loop.
///
/// Cancelling only forgets the body; the heap entry goes when it reaches the top. Timers that are
/// armed and cancelled per message (reply and idle timers of pooled delivery connections, minutes
/// long) would otherwise pile up at the message rate times their duration, so once more than half
/// the heap is cancelled entries it is rebuilt from the live ones (amortised O(log n) per cancel):
/// the memory held is bounded by the live timers, not by how many were ever armed.
struct TimerQueue {
    private var heap: [(deadline: UInt64, id: UInt64)] = []
    private var bodies: [UInt64: () -> Void] = [:]
    private var nextID: UInt64 = 1
    /// Heap entries whose timer was cancelled (their bodies are gone).
    private var cancelled = 0
    /// Below this many entries the heap is never compacted (not worth it).
    static let compactionFloor = 64

    /// Heap entries held, cancelled ones included (for tests and metrics).
    var storedCount: Int { heap.count }
    /// Timers armed and neither fired nor cancelled.
    var liveCount: Int { bodies.count }

    mutating func add(deadline: UInt64, _ body: @escaping () -> Void) -> UInt64 {
        let id = nextID
        nextID += 1
        bodies[id] = body
        heap.append((deadline, id))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if heap[parent].deadline <= heap[i].deadline { break }
            heap.swapAt(parent, i)
            i = parent
        }
        return id
    }

    mutating func cancel(_ id: UInt64) {
        guard bodies.removeValue(forKey: id) != nil else { return }
        cancelled += 1
        if cancelled > Self.compactionFloor && cancelled * 2 > heap.count { compact() }
    }

    /// Drops every cancelled entry and restores the heap order (bottom-up, O(n)). Shrinks storage:
    /// a burst of timers does not keep its peak capacity for ever.
    private mutating func compact() {
        heap = heap.filter { bodies[$0.id] != nil }
        cancelled = 0
        if bodies.capacity > 4 * max(bodies.count, 16) { bodies = Dictionary(uniqueKeysWithValues: bodies.map { ($0.key, $0.value) }) }
        var i = heap.count / 2
        while i > 0 {
            i -= 1
            siftDown(i)
        }
    }

    /// Milliseconds epoll may sleep: -1 when no timer, 0 when one is due.
    mutating func millisecondsUntilNext(now: UInt64) -> Int32 {
        while let top = heap.first, bodies[top.id] == nil {
            popTop()
            cancelled -= 1
        }
        guard let top = heap.first else { return -1 }
        if top.deadline <= now { return 0 }
        return Int32(min(UInt64(Int32.max), (top.deadline - now + 999_999) / 1_000_000))
    }

    /// Removes and returns the bodies of every timer due at `now`; the caller runs them (outside
    /// any access to the queue, since a body may schedule new timers).
    mutating func takeDue(now: UInt64) -> [() -> Void] {
        var due: [() -> Void] = []
        while let top = heap.first, top.deadline <= now {
            popTop()
            if let body = bodies.removeValue(forKey: top.id) { due.append(body) } else { cancelled -= 1 }
        }
        return due
    }

    private mutating func popTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && heap[l].deadline < heap[m].deadline { m = l }
            if r < heap.count && heap[r].deadline < heap[m].deadline { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
    }
}
