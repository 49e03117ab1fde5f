import Foundation
import Testing
@testable import SendarixSupport

/// Without the test offset file the node's clock is the system clock.
@Suite("Wall clock")
struct WallClockTests {
    @Test("without SENDARIX_TEST_CLOCK_OFFSET_FILE the wall clock is the system clock")
    func systemClock() {
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        let now = WallClock.nowMillis()
        let after = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(ProcessInfo.processInfo.environment["SENDARIX_TEST_CLOCK_OFFSET_FILE"] == nil)
        #expect(before <= now && now <= after)
    }
}
