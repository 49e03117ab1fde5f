import Foundation
import Synchronization

/// A wall clock a test moves forward: the engine reads it through `Options.clock`, so a test
/// makes a commit or a reply "take" seconds of the engine's time without waiting for them.
final class TestClock: Sendable {
    private let offset = Atomic<Int64>(0)

    /// Milliseconds since the epoch, plus every advance so far.
    var now: Int64 { Int64(Date().timeIntervalSince1970 * 1000) + offset.load(ordering: .relaxed) }

    /// Moves the clock `millis` forward.
    func advance(millis: Int64) {
        offset.add(millis, ordering: .relaxed)
    }

    /// The clock as `DeliveryEngine.Options.clock`.
    var read: @Sendable () -> Int64 { { [self] in now } }
}
