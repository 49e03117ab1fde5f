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
        encode(message, dotStuff: false).bytes
    }

    /// The DATA payload: canonical line endings, lines starting with "." doubled, and the
    /// terminating ".\r\n", ready to send in one write after the 354 reply. Pure; any caller.
    public static func dataPayload(_ message: [UInt8]) -> [UInt8] {
        encode(message, dotStuff: true).bytes
    }

    /// One pass over `message` giving the BDAT body (`canonical`) or the DATA payload
    /// (`dataPayload`, with the final ".\r\n") and whether the message has any 8-bit byte
    /// (`containsEightBit`), so that a delivery reads its body once. Pure; any caller.
    public static func encode(_ message: [UInt8], dotStuff: Bool) -> (bytes: [UInt8], eightBit: Bool) {
        var (out, eightBit) = transform(message, dotStuff: dotStuff)
        if dotStuff { out.append(contentsOf: [UInt8(ascii: "."), 13, 10]) }
        return (out, eightBit)
    }

    /// Canonicalises line endings (and stuffs dots when asked) in runs: clean lines are scanned
    /// eight bytes at a time and copied together. Also ORs every byte to tell 8-bit content.
    private static func transform(_ message: [UInt8], dotStuff: Bool) -> ([UInt8], Bool) {
        let count = message.count
        var out: [UInt8] = []
        var high: UInt64 = 0
        out.reserveCapacity(count + count / 64 + 8)
        message.withUnsafeBufferPointer { input in
            guard let base = input.baseAddress else { return }
            let raw = UnsafeRawPointer(base)
            var runStart = 0
            var index = 0
            var atLineStart = true
            func flush(to end: Int) {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<end]))
            }
            while index < count {
                if atLineStart {
                    atLineStart = false
                    if dotStuff, base[index] == UInt8(ascii: ".") {
                        flush(to: index)
                        out.append(UInt8(ascii: "."))
                        runStart = index
                    }
                }
                index = lineBreak(base, raw, from: index, count: count, high: &high)
                guard index < count else { break }
                atLineStart = true
                if base[index] == 13, index + 1 < count, base[index + 1] == 10 {
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
        return (out, high & 0x8080_8080_8080_8080 != 0)
    }

    /// Index of the first CR or LF at or after `start`, or `count`; ORs the bytes before it into
    /// `high`. Skips eight bytes at a time while none is below 0x0E (one test for both CR and LF;
    /// a word with another control byte, such as a tab, is then checked byte by byte).
    @inline(__always)
    private static func lineBreak(_ base: UnsafePointer<UInt8>, _ raw: UnsafeRawPointer, from start: Int,
                                  count: Int, high: inout UInt64) -> Int {
        var index = start
        while true {
            while index + 8 <= count {
                let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if hasByteBelow14(word) { break }
                high |= word
                index += 8
            }
            let end = min(index + 8, count)
            while index < end {
                let byte = base[index]
                if byte == 13 || byte == 10 { return index }
                high |= UInt64(byte)
                index += 1
            }
            if index == count { return count }
        }
    }

    /// True when some byte of `word` is below 0x0E (exact: no false negatives, and a false
    /// positive is impossible for the "any byte" question this answers).
    @inline(__always)
    private static func hasByteBelow14(_ word: UInt64) -> Bool {
        (word &- 0x0E0E_0E0E_0E0E_0E0E) & ~word & 0x8080_8080_8080_8080 != 0
    }
}
