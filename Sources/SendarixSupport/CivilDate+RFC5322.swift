extension CivilDate {
    private static let weekdayNames: [[UInt8]] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].map { Array($0.utf8) }
    private static let monthNames: [[UInt8]] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].map { Array($0.utf8) }

    /// Formats `seconds` since the Unix epoch as an RFC 5322 `date-time` in UTC,
    /// `Sun, 29 Nov 2026 09:47:19 +0000` (day without padding). Pure; any caller.
    public static func rfc5322(seconds: Int64) -> String {
        let (days, secondOfDay) = floorDivide(seconds, 86_400)
        let date = CivilDate(days: days)
        var out = [UInt8]()
        out.reserveCapacity(31)
        out.append(contentsOf: weekdayNames[weekday(days: days)])
        out.append(contentsOf: [0x2C, 0x20])
        appendDigits(Int64(date.day), width: date.day < 10 ? 1 : 2, to: &out)
        out.append(0x20)
        out.append(contentsOf: monthNames[date.month - 1])
        out.append(0x20)
        if date.year < 0 { out.append(0x2D) }
        let yearDigits = max(1, String(date.year.magnitude).utf8.count)
        appendDigits(date.year, width: yearDigits, to: &out)
        out.append(0x20)
        appendClock(secondOfDay, to: &out)
        out.append(contentsOf: Array(" +0000".utf8))
        return String(decoding: out, as: UTF8.self)
    }
}
