/// Byte-level helpers for message bodies on the wire: line-ending canonicalisation (bare CR or
/// LF become CRLF, so the relay never forwards SMTP-smuggling material), dot-stuffing for DATA
/// (RFC 5321 4.5.2) and 8-bit detection. Each function makes one pass and one allocation.
///
/// Pure; any thread may call it.
public enum SMTPBody {
    /// True when any byte has the high bit set. Pure; any caller.
    public static func containsEightBit(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var index = 0
            let count = raw.count
            // Check eight bytes at a time.
            while index + 8 <= count {
                let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if word & 0x8080_8080_8080_8080 != 0 { return true }
                index += 8
            }
            while index < count {
                if raw[index] >= 0x80 { return true }
                index += 1
            }
            return false
        }
    }

    /// The message with CRLF line endings and a final CRLF (empty stays empty), as sent with BDAT
    /// and as counted for SIZE. Pure; any caller.
    public static func canonical(_ message: [UInt8]) -> [UInt8] {
        transform(message, dotStuff: false)
    }

    /// The DATA payload: canonical line endings, lines starting with "." doubled, and the
    /// terminating ".\r\n", ready to send in one write after the 354 reply. Pure; any caller.
    public static func dataPayload(_ message: [UInt8]) -> [UInt8] {
        var out = transform(message, dotStuff: true)
        out.append(contentsOf: [UInt8(ascii: "."), 13, 10])
        return out
    }

    private static func transform(_ message: [UInt8], dotStuff: Bool) -> [UInt8] {
        let count = message.count
        var out: [UInt8] = []
        out.reserveCapacity(count + count / 64 + 8)
        message.withUnsafeBufferPointer { input in
            let raw = UnsafeRawBufferPointer(input)
            var runStart = 0
            var index = 0
            var atLineStart = true
            func flush(to end: Int) {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<end]))
            }
            while index < count {
                if atLineStart {
                    atLineStart = false
                    if dotStuff, input[index] == UInt8(ascii: ".") {
                        flush(to: index)
                        out.append(UInt8(ascii: "."))
                        runStart = index
                    }
                }
                // Skip eight bytes at a time while they hold neither CR nor LF.
                while index + 8 <= count {
                    let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    if hasByte(word, 0x0D) || hasByte(word, 0x0A) { break }
                    index += 8
                }
                while index < count, input[index] != 13, input[index] != 10 { index += 1 }
                guard index < count else { break }
                atLineStart = true
                if input[index] == 13, index + 1 < count, input[index + 1] == 10 {
                    index += 2
                    continue
                }
                // Bare CR or bare LF: write CRLF instead.
                flush(to: index)
                out.append(13); out.append(10)
                index += 1
                runStart = index
            }
            flush(to: count)
        }
        if !out.isEmpty, !(out.count >= 2 && out[out.count - 2] == 13 && out[out.count - 1] == 10) {
            out.append(13); out.append(10)
        }
        return out
    }

    /// True when any byte of `word` equals `byte`.
    @inline(__always)
    private static func hasByte(_ word: UInt64, _ byte: UInt8) -> Bool {
        let value = word ^ (0x0101_0101_0101_0101 &* UInt64(byte))
        return (value &- 0x0101_0101_0101_0101) & ~value & 0x8080_8080_8080_8080 != 0
    }
}
