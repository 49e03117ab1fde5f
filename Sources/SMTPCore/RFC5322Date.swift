import Foundation
import SendarixSupport

/// Formats dates as RFC 5322 `date-time` in UTC (`Sun, 29 Nov 2026 09:47:19 +0000`) without
/// DateFormatter or locale data; forwards to `SendarixSupport.CivilDate`. Pure; does not block;
/// any caller may use it.
public enum RFC5322Date {
    /// The RFC 5322 text of `date` in UTC (fractions of a second dropped).
    public static func string(from date: Date) -> String {
        CivilDate.rfc5322(seconds: Int64(date.timeIntervalSince1970.rounded(.down)))
    }
}
