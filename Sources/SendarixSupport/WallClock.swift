import Foundation
import Synchronization

/// The node's wall clock: what leases, claims, due times and receipt times are measured with.
///
/// For fault tests only, `SENDARIX_TEST_CLOCK_OFFSET_FILE` names a file holding a signed offset in
/// milliseconds that is added to the system clock (re-read at most twice a second), so a test can
/// jump one node's clock forward and back while it runs. Without the variable this is the system
/// clock. Never blocks for long (a small file read every 500 ms at most); any thread.
public enum WallClock {
    private static let offsetFile: String? = ProcessInfo.processInfo.environment["SENDARIX_TEST_CLOCK_OFFSET_FILE"]
    private static let offset = Atomic<Int64>(0)
    private static let lastRead = Atomic<Int64>(Int64.min)

    /// Milliseconds since the epoch.
    public static func nowMillis() -> Int64 {
        let system = Int64(Date().timeIntervalSince1970 * 1000)
        guard let offsetFile else { return system }
        let last = lastRead.load(ordering: .relaxed)
        if system &- last >= 500 || system < last {
            lastRead.store(system, ordering: .relaxed)
            // A missing or unreadable file means no offset.
            let text = (try? String(contentsOfFile: offsetFile, encoding: .utf8)) ?? ""
            offset.store(Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, ordering: .relaxed)
        }
        return system &+ offset.load(ordering: .relaxed)
    }

    /// The same instant as a `Date`.
    public static func now() -> Date {
        Date(timeIntervalSince1970: Double(nowMillis()) / 1000)
    }
}
