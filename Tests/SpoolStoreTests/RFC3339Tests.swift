import Foundation
import Testing
@testable import SpoolStore

@Suite("RFC 3339 timestamps")
struct RFC3339Tests {
    @Test("known instants format as UTC with milliseconds")
    func format() {
        #expect(RFC3339.format(millis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.format(millis: 1_700_000_000_123) == "2023-11-14T22:13:20.123Z")
        #expect(RFC3339.format(millis: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(RFC3339.format(millis: -1) == "1969-12-31T23:59:59.999Z")
    }

    @Test("parse inverts format and honours offsets and fractions")
    func parse() {
        for ms: Int64 in [0, 1_700_000_000_123, 951_782_400_000, 4_102_444_800_000, -1] {
            #expect(RFC3339.parse(RFC3339.format(millis: ms)) == ms)
        }
        #expect(RFC3339.parse("2023-11-14T23:13:20+01:00") == 1_700_000_000_000)
        #expect(RFC3339.parse("2023-11-14t22:13:20.5z") == 1_700_000_000_500)
        #expect(RFC3339.parse("2023-11-14T22:13:20") == nil)
        #expect(RFC3339.parse("2023-13-14T22:13:20Z") == nil)
        #expect(RFC3339.parse("not a date at all!!!") == nil)
    }

    @Test("agrees with Foundation's ISO 8601 formatter on random instants")
    func matchesFoundation() {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var x: UInt64 = 88172645463325252
        for _ in 0..<200 {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            let ms = Int64(x % 8_000_000_000_000)
            let date = Date(timeIntervalSince1970: Double(ms) / 1000)
            #expect(f.date(from: RFC3339.format(millis: ms)).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } == ms)
            _ = date
        }
    }
}
