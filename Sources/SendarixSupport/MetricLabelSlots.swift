import Synchronization

/// Maps label values (tenants, providers, listeners) to a bounded set of slots, so a metric's
/// label cardinality stays bounded: the first `capacity` distinct values get their own slot, any
/// later one shares slot 0, exported as `other`.
///
/// The lookup is lock-free: the value's 64-bit FNV-1a hash is looked up in an open-addressing
/// table of atomics, and a new value claims an empty cell with a compare-exchange. Only the first
/// sighting of a value takes a lock (to remember its text for export). Any thread.
public final class MetricLabelSlots: Sendable {
    /// Most distinct values with their own slot.
    public let capacity: Int
    private let cells: [AtomicCell]
    private let claimed = Atomic<Int>(0)
    private let names: Mutex<[Int: String]>

    private final class AtomicCell: Sendable {
        let hash = Atomic<UInt64>(0)
    }

    /// Creates a table for `capacity` values (at most 255). Any thread.
    public init(capacity: Int) {
        self.capacity = min(255, max(1, capacity))
        cells = (0..<(self.capacity * 2)).map { _ in AtomicCell() }
        names = Mutex([0: "other"])
    }

    /// The slot of `value`: 1...capacity, or 0 (`other`) once the table is full. Any thread.
    ///
    /// A cell holds the hash's upper 56 bits and the slot in the low byte, so one atomic load
    /// answers a lookup.
    public func slot(_ value: String) -> Int {
        var h = FNV1a64.hash(value.utf8)
        h &= ~0xFF
        if h == 0 { h = 0x100 }
        let n = cells.count
        var i = Int((h >> 8) % UInt64(n))
        for _ in 0..<n {
            let cell = cells[i]
            var current = cell.hash.load(ordering: .acquiring)
            if current == 0 {
                let next = claimed.add(1, ordering: .relaxed).newValue
                guard next <= capacity else { return 0 }
                let (won, seen) = cell.hash.compareExchange(expected: 0, desired: h | UInt64(next),
                                                            ordering: .acquiringAndReleasing)
                if won {
                    names.withLock { $0[next] = value }
                    return next
                }
                current = seen  // lost the race (the slot number is wasted; the bound still holds)
            }
            if current & ~0xFF == h { return Int(current & 0xFF) }
            i = (i + 1) % n
        }
        return 0
    }

    /// Number of slots (index 0 is `other`); size per-slot arrays with it.
    public var slotCount: Int { capacity + 1 }

    /// The exported label value of every slot in use. Any thread.
    public func labels() -> [Int: String] { names.withLock { $0 } }
}
