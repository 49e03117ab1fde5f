import SendarixSupport

/// Formats and parses RFC 3339 UTC timestamps (`2026-11-29T09:47:19.123Z`)
/// from/to milliseconds since the Unix epoch, without Foundation date APIs.
/// Forwards to `SendarixSupport.CivilDate`. Pure functions; any thread; never block.
public enum RFC3339 {
    /// Formats `millis` as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    public static func format(millis: Int64) -> String {
        CivilDate.rfc3339(millis: millis)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (also `t`, `z`, or a
    /// space as separator); returns ms since epoch or nil when malformed.
    public static func parse(_ text: String) -> Int64? {
        CivilDate.parseRFC3339(text)
    }
}
