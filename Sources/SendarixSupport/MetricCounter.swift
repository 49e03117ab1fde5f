import Synchronization

/// A monotonically increasing count (a Prometheus counter) or, with ``add(_:)`` of negative
/// amounts through ``MetricGauge``, a level. One relaxed atomic add per update: safe and cheap
/// from any thread, never blocks.
public final class MetricCounter: Sendable {
    private let value = Atomic<UInt64>(0)

    /// Creates a counter at zero. Any thread.
    public init() {}

    /// Adds `n`. Any thread; lock-free.
    @inline(__always)
    public func add(_ n: UInt64 = 1) { value.add(n, ordering: .relaxed) }

    /// The current count. Any thread.
    public var count: UInt64 { value.load(ordering: .relaxed) }
}
