extension CivilDate {
    /// Formats `millis` since the Unix epoch as an RFC 3339 UTC timestamp
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` (years outside 0...9999 keep their digits). Pure; any caller.
    public static func rfc3339(millis: Int64) -> String {
        var out = [UInt8]()
        out.reserveCapacity(24)
        appendRFC3339(millis: millis, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `rfc3339(millis:)`'s bytes to `out` (no string in between). Pure; any caller.
    public static func appendRFC3339(millis: Int64, to out: inout [UInt8]) {
        let (secs, ms) = floorDivide(millis, 1000)
        let (days, secondOfDay) = floorDivide(secs, 86_400)
        let date = CivilDate(days: days)
        appendDigits(date.year, width: 4, to: &out); out.append(0x2D)
        appendDigits(Int64(date.month), width: 2, to: &out); out.append(0x2D)
        appendDigits(Int64(date.day), width: 2, to: &out); out.append(0x54)
        appendClock(secondOfDay, to: &out)
        out.append(0x2E); appendDigits(ms, width: 3, to: &out); out.append(0x5A)
    }

    /// Parses RFC 3339 `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (also `t`, `z`, or a space as
    /// the separator) into milliseconds since the Unix epoch; nil when malformed. Fraction digits
    /// beyond milliseconds are ignored. Pure; any caller.
    public static func parseRFC3339(_ text: some StringProtocol) -> Int64? {
        var text = String(text)
        return text.withUTF8 { parseRFC3339(bytes: $0) }
    }

    /// `parseRFC3339` on UTF-8 bytes.
    public static func parseRFC3339(bytes b: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard b.count >= 20 else { return nil }
        func num(_ at: Int, _ len: Int) -> Int64? {
            guard at + len <= b.count else { return nil }
            var v: Int64 = 0
            for i in at..<at + len {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                v = v * 10 + Int64(b[i] - 0x30)
            }
            return v
        }
        guard let y = num(0, 4), b[4] == 0x2D, let mo = num(5, 2), b[7] == 0x2D, let d = num(8, 2),
              b[10] == 0x54 || b[10] == 0x74 || b[10] == 0x20,
              let h = num(11, 2), b[13] == 0x3A, let mi = num(14, 2), b[16] == 0x3A, let s = num(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        var i = 19
        var ms: Int64 = 0
        if i < b.count, b[i] == 0x2E {
            i += 1
            var scale: Int64 = 100
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                ms += Int64(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < b.count else { return nil }
        var offset: Int64 = 0
        if b[i] == 0x5A || b[i] == 0x7A {
            i += 1
        } else if b[i] == 0x2B || b[i] == 0x2D {
            guard let oh = num(i + 1, 2), i + 3 < b.count, b[i + 3] == 0x3A, let om = num(i + 4, 2) else { return nil }
            offset = (oh * 60 + om) * 60 * (b[i] == 0x2B ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = CivilDate(year: y, month: Int(mo), day: Int(d)).days
        return ((days * 86_400 + h * 3600 + mi * 60 + s) - offset) * 1000 + ms
    }

    /// Appends `value` as exactly `width` decimal digits (zero-padded, high digits dropped).
    @usableFromInline
    static func appendDigits(_ value: Int64, width: Int, to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(0x30, count: width))
        var x = value < 0 ? -value : value
        var i = start + width - 1
        while i >= start {
            out[i] = 0x30 + UInt8(x % 10)
            x /= 10
            i -= 1
        }
    }

    /// Appends `HH:MM:SS` for a second of the day.
    static func appendClock(_ secondOfDay: Int64, to out: inout [UInt8]) {
        appendDigits(secondOfDay / 3600, width: 2, to: &out); out.append(0x3A)
        appendDigits(secondOfDay / 60 % 60, width: 2, to: &out); out.append(0x3A)
        appendDigits(secondOfDay % 60, width: 2, to: &out)
    }
}
