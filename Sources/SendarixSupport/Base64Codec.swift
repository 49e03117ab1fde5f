/// Standard base64 (RFC 4648 §4, alphabet `A–Z a–z 0–9 + /`, `=` padding) over bytes, without
/// Foundation. Pure; any thread; never blocks.
///
/// Two decoders: `decodeStrict` for SASL (RFC 4954: padded, nothing but the alphabet) and
/// `decodeLenient` for text that may be folded (whitespace ignored, padding optional).
public enum Base64Codec {
    @usableFromInline
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Encodes `bytes` as padded base64 (no line breaks).
    public static func encode(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = second == nil ? nil : iterator.next()
            let value = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            out.append(alphabet[Int(value >> 18 & 63)])
            out.append(alphabet[Int(value >> 12 & 63)])
            out.append(second == nil ? 0x3D : alphabet[Int(value >> 6 & 63)])
            out.append(third == nil ? 0x3D : alphabet[Int(value & 63)])
        }
        return out
    }

    /// The 6-bit value of a base64 alphabet byte, or nil.
    @inlinable
    public static func sextet(_ byte: UInt8) -> UInt32? {
        switch byte {
        case 0x41...0x5A: return UInt32(byte - 0x41)
        case 0x61...0x7A: return UInt32(byte - 0x61 + 26)
        case 0x30...0x39: return UInt32(byte - 0x30 + 52)
        case 0x2B: return 62
        case 0x2F: return 63
        default: return nil
        }
    }

    /// Decodes padded base64: the length is a multiple of 4, `=` only at the end (at most two),
    /// no whitespace or other bytes. Nil when `text` breaks any of these.
    public static func decodeStrict(_ text: some Collection<UInt8>) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        return decode(text, skipWhitespace: false)
    }

    /// Decodes base64 ignoring tab, LF, CR and space; padding is optional but, once seen, only
    /// more `=` or whitespace may follow (at most two `=`). Nil for any other byte.
    public static func decodeLenient(_ text: some Collection<UInt8>) -> [UInt8]? {
        decode(text, skipWhitespace: true)
    }

    private static func decode(_ text: some Collection<UInt8>, skipWhitespace: Bool) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 4 * 3)
        var accumulator: UInt32 = 0
        var bits = 0
        var padding = 0
        for byte in text {
            if byte == 0x3D { padding += 1; continue }
            if skipWhitespace && (byte == 9 || byte == 10 || byte == 13 || byte == 32) { continue }
            guard padding == 0, let value = sextet(byte) else { return nil }
            accumulator = accumulator << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return padding <= 2 ? out : nil
    }
}
