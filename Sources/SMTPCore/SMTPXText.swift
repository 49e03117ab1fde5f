/// RFC 3461 `xtext` encoding, used by the DSN parameters ENVID and ORCPT: printable ASCII except `+` and `=`
/// stands for itself, anything else is `+XX` (uppercase hex). Pure; does not block; any caller may use it.
public enum SMTPXText {
    /// Decodes xtext; nil when the text holds characters outside xtext or a malformed `+XX`.
    public static func decode(_ text: String) -> String? {
        var out: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == Byte.plus {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                out.append(high << 4 | low)
            } else if byte >= 0x21 && byte <= 0x7E && byte != Byte.equals {
                out.append(byte)
            } else {
                return nil
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Encodes text as xtext.
    public static func encode(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            if byte >= 0x21 && byte <= 0x7E && byte != Byte.plus && byte != Byte.equals {
                out.append(byte)
            } else {
                out.append(Byte.plus)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Only uppercase hex is valid xtext, but lowercase is accepted (robustness).
    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }
}
