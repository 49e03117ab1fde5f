import SendarixSupport

/// RFC 5322 date-time formatting ("Sun, 29 Nov 2026 09:47:19 +0000") from seconds since the Unix
/// epoch, in UTC, without Foundation; forwards to `SendarixSupport.CivilDate`.
///
/// Pure; any thread may call it.
public enum MailDate {
    /// Formats `seconds` (fractions dropped) as an RFC 5322 date in UTC. Pure; any caller.
    public static func format(_ seconds: Double) -> String {
        CivilDate.rfc5322(seconds: seconds.floorInt64)
    }
}
