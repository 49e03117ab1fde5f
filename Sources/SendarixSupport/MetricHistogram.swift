import Synchronization

/// A Prometheus histogram with fixed bucket upper bounds (in the metric's base unit, e.g.
/// seconds): per-bucket counts, a sum and a count, each a relaxed atomic. Any thread; lock-free.
public final class MetricHistogram: Sendable {
    /// Upper bounds, ascending; an implicit `+Inf` bucket follows.
    public let bounds: [Double]
    private let buckets: [MetricCounter]
    /// Sum of observations in millionths of the unit (an integer, so it can be an atomic).
    private let sumMicros = Atomic<UInt64>(0)

    /// Creates a histogram. Any thread.
    public init(bounds: [Double]) {
        self.bounds = bounds.sorted()
        self.buckets = (0...bounds.count).map { _ in MetricCounter() }
    }

    /// Records one observation. Any thread; lock-free.
    public func observe(_ value: Double) {
        let i = bounds.firstIndex { value <= $0 } ?? bounds.count
        buckets[i].add()
        sumMicros.add(UInt64(max(0, value) * 1_000_000), ordering: .relaxed)
    }

    /// Cumulative counts per bound (the last is `+Inf`, equal to the count), the sum and the count.
    public func snapshot() -> (cumulative: [UInt64], sum: Double, count: UInt64) {
        var running: UInt64 = 0
        let cumulative = buckets.map { b -> UInt64 in
            running += b.count
            return running
        }
        return (cumulative, Double(sumMicros.load(ordering: .relaxed)) / 1_000_000, running)
    }
}
