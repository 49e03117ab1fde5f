/// A min-heap of deadlines for one event loop. Not thread-safe; owned by the loop.
struct TimerQueue {
    private var heap: [(deadline: UInt64, id: UInt64)] = []
    private var bodies: [UInt64: () -> Void] = [:]
    private var nextID: UInt64 = 1

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

    mutating func cancel(_ id: UInt64) { bodies[id] = nil }

    /// Milliseconds epoll may sleep: -1 when no timer, 0 when one is due.
    mutating func millisecondsUntilNext(now: UInt64) -> Int32 {
        while let top = heap.first, bodies[top.id] == nil { popTop() }
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
            if let body = bodies.removeValue(forKey: top.id) { due.append(body) }
        }
        return due
    }

    private mutating func popTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var i = 0
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
