import Synchronization

/// The queue depth of the last hour as this node saw it, sampled by the admin server every
/// `interval` seconds for the dashboard's chart (`GET /v1/queue-depth`). Node memory only: a
/// restarted node starts an empty history. Thread-safe.
final class QueueDepthHistory: Sendable {
    /// One sample: when (ms since the epoch) and how many messages were queued.
    struct Sample: Sendable, Equatable {
        let millis: Int64
        let count: Int
    }

    /// Seconds between samples.
    let interval: Double
    /// Samples kept (the oldest go first).
    let capacity: Int
    private let samples: Mutex<[Sample]>

    init(interval: Double = 10, capacity: Int = 360) {
        self.interval = interval
        self.capacity = capacity
        samples = Mutex([])
    }

    /// Adds a sample, dropping the oldest beyond `capacity`.
    func record(_ count: Int, at millis: Int64) {
        samples.withLock { list in
            list.append(Sample(millis: millis, count: count))
            if list.count > capacity { list.removeFirst(list.count - capacity) }
        }
    }

    /// Every kept sample, oldest first.
    func all() -> [Sample] { samples.withLock { $0 } }
}
