/// A proleptic Gregorian calendar date (UTC, no time of day) and the day-count arithmetic behind
/// every timestamp this project formats: days since 1970-01-01 ⇄ year/month/day, weekday.
///
/// Pure value; any thread may use it; nothing here blocks. Uses Howard Hinnant's
/// `days_from_civil` / `civil_from_days`, valid for every `Int64` day count that fits a year.
public struct CivilDate: Hashable, Sendable {
    /// The year (astronomical numbering: 0 is 1 BC).
    public var year: Int64
    /// The month, 1...12.
    public var month: Int
    /// The day of the month, 1...31.
    public var day: Int

    /// A date from its parts; the parts are not validated (`days` normalises overflowing days).
    public init(year: Int64, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date `days` days after 1970-01-01 (negative days lie before it).
    public init(days: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let d = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let m = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        self.init(year: yearOfEra + era * 400 + (m <= 2 ? 1 : 0), month: Int(m), day: Int(d))
    }

    /// Days since 1970-01-01 (negative before it).
    public var days: Int64 {
        let m = Int64(month), d = Int64(day)
        let y = m <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Day of the week, 0 = Sunday ... 6 = Saturday.
    public var weekday: Int { CivilDate.weekday(days: days) }

    /// Day of the week of the day `days` after 1970-01-01 (a Thursday), 0 = Sunday ... 6 = Saturday.
    public static func weekday(days: Int64) -> Int {
        Int(((days % 7) + 11) % 7)
    }

    /// Floor division with a non-negative remainder (`b` must be positive):
    /// `floorDivide(-1, 86_400)` is `(-1, 86_399)`.
    @inlinable
    public static func floorDivide(_ a: Int64, _ b: Int64) -> (quotient: Int64, remainder: Int64) {
        var q = a / b
        var r = a % b
        if r < 0 { q -= 1; r += b }
        return (q, r)
    }
}
