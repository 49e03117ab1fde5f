/// Quoted-printable content transfer encoding (RFC 2045 section 6.7) for converting 8-bit
/// bodies to 7-bit when a server lacks 8BITMIME. Input line breaks are CRLF (bare LF also
/// accepted) and stay hard line breaks; output lines are at most 76 characters, using soft breaks
/// ("=" CRLF); trailing spaces and tabs are encoded.
///
/// Pure; any thread may call it.
public enum QuotedPrintable {
    private static let hex = Array("0123456789ABCDEF".utf8)

    /// Encodes `bytes`. Pure; any caller.
    public static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 4 + 8)
        var lineLength = 0
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            // Hard line break.
            if byte == 13, index + 1 < count, bytes[index + 1] == 10 {
                out.append(13); out.append(10)
                lineLength = 0
                index += 2
                continue
            }
            if byte == 10 {
                out.append(13); out.append(10)
                lineLength = 0
                index += 1
                continue
            }
            let nextIsLineEnd = index + 1 == count || bytes[index + 1] == 10
                || (bytes[index + 1] == 13 && index + 2 < count && bytes[index + 2] == 10)
            let literal: Bool
            switch byte {
            case 33...60, 62...126: literal = true
            case 32, 9: literal = !nextIsLineEnd
            default: literal = false
            }
            let width = literal ? 1 : 3
            // Keep room for a soft break "=" unless this is the last character of the line.
            let limit = nextIsLineEnd ? 76 : 75
            if lineLength + width > limit {
                out.append(UInt8(ascii: "=")); out.append(13); out.append(10)
                lineLength = 0
            }
            if literal {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "="))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            }
            lineLength += width
            index += 1
        }
        return out
    }

    /// Decodes `bytes` (soft breaks removed, "=XX" resolved; malformed escapes kept literally).
    /// Pure; any caller.
    public static func decode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        func nibble(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: return byte - 48
            case 65...70: return byte - 55
            case 97...102: return byte - 87
            default: return nil
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "=") {
                if index + 2 < bytes.count, bytes[index + 1] == 13, bytes[index + 2] == 10 {
                    index += 3
                    continue
                }
                if index + 1 < bytes.count, bytes[index + 1] == 10 {
                    index += 2
                    continue
                }
                if index + 2 < bytes.count, let high = nibble(bytes[index + 1]), let low = nibble(bytes[index + 2]) {
                    out.append(high << 4 | low)
                    index += 3
                    continue
                }
            }
            out.append(byte)
            index += 1
        }
        return out
    }
}
