/// A waiting line with two lanes served in turns: fresh elements (mail received since its
/// destination came back after an outage) and backlog elements (everything else). While both
/// lanes hold elements every other one taken is fresh, so a destination draining a deep backlog at
/// its shaped rate still delivers new mail within a few tokens instead of behind the whole line;
/// with one lane empty it is a plain first-come-first-served line. Elements of one lane keep their
/// order. Memory: the elements waiting (amortised O(1) per operation). Pure value.
public struct FairLine<Element: Sendable>: Sendable {
    private var fresh: [Element] = []
    private var freshHead = 0
    private var backlog: [Element] = []
    private var backlogHead = 0
    /// Whether the next element taken comes from the fresh lane (when it has one).
    private var freshTurn = true

    /// Creates an empty line. Pure.
    public init() {}

    /// Elements waiting. Pure.
    public var count: Int { fresh.count - freshHead + backlog.count - backlogHead }

    /// Whether nothing waits. Pure.
    public var isEmpty: Bool { count == 0 }

    /// Fresh elements waiting. Pure.
    public var freshCount: Int { fresh.count - freshHead }

    /// Adds `element` at the end of its lane. Pure.
    public mutating func append(_ element: Element, fresh isFresh: Bool) {
        if isFresh { fresh.append(element) } else { backlog.append(element) }
    }

    /// Puts `element` back at the front of its lane and makes it the next one taken (a head that
    /// was taken but has to wait again). Pure.
    public mutating func pushFront(_ element: Element, fresh isFresh: Bool) {
        if isFresh {
            if freshHead > 0 { freshHead -= 1; fresh[freshHead] = element } else { fresh.insert(element, at: 0) }
        } else {
            if backlogHead > 0 { backlogHead -= 1; backlog[backlogHead] = element } else { backlog.insert(element, at: 0) }
        }
        freshTurn = isFresh
    }

    /// Takes the next element: from the lane whose turn it is, or the other when that one is
    /// empty. nil when nothing waits. Pure.
    public mutating func popFirst() -> Element? {
        let freshLeft = fresh.count > freshHead
        let backlogLeft = backlog.count > backlogHead
        guard freshLeft || backlogLeft else { return nil }
        let takeFresh = freshLeft && (freshTurn || !backlogLeft)
        freshTurn = !takeFresh
        if takeFresh {
            let element = fresh[freshHead]
            freshHead += 1
            if freshHead == fresh.count { fresh.removeAll(keepingCapacity: fresh.count < 4_096); freshHead = 0 }
            else if freshHead >= 1_024, freshHead * 2 >= fresh.count { fresh.removeFirst(freshHead); freshHead = 0 }
            return element
        }
        let element = backlog[backlogHead]
        backlogHead += 1
        if backlogHead == backlog.count { backlog.removeAll(keepingCapacity: backlog.count < 4_096); backlogHead = 0 }
        else if backlogHead >= 1_024, backlogHead * 2 >= backlog.count { backlog.removeFirst(backlogHead); backlogHead = 0 }
        return element
    }
}
