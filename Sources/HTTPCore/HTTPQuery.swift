/// Query-string and percent-encoding helpers (RFC 3986, `application/x-www-form-urlencoded`).
///
/// Pure functions; any thread.
public enum HTTPQuery {
    /// One decoded `name=value` pair (`value` is "" for a bare `name`).
    public struct Item: Sendable, Equatable {
        /// Decoded name.
        public var name: String
        /// Decoded value.
        public var value: String
        /// Creates an item.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Splits `a=1&b=x%20y+z` into decoded items (`+` means space, empty pairs skipped). Returns nil
    /// when a percent escape is malformed or decodes to invalid UTF-8.
    public static func parse(_ raw: some StringProtocol) -> [Item]? {
        var items: [Item] = []
        for pair in raw.utf8.split(separator: 0x26, omittingEmptySubsequences: true) {
            let eq = pair.firstIndex(of: 0x3D)
            let rawName = eq.map { pair[pair.startIndex..<$0] } ?? pair[...]
            let rawValue = eq.map { pair[pair.index(after: $0)...] } ?? pair[pair.endIndex...]
            guard let name = percentDecode(rawName, plusAsSpace: true),
                  let value = percentDecode(rawValue, plusAsSpace: true) else { return nil }
            items.append(Item(name: name, value: value))
        }
        return items
    }

    /// Decodes `%XX` escapes (and `+` as space when asked). Returns nil on a malformed escape or
    /// invalid UTF-8.
    public static func percentDecode(_ text: some Collection<UInt8>, plusAsSpace: Bool = false) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var it = text.makeIterator()
        while let c = it.next() {
            if c == 0x25 {
                guard let h = it.next(), let l = it.next(), let hv = hex(h), let lv = hex(l) else { return nil }
                out.append(hv << 4 | lv)
            } else if c == 0x2B && plusAsSpace {
                out.append(0x20)
            } else {
                out.append(c)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// Decodes a string's percent escapes (no `+` handling), nil when malformed.
    public static func percentDecode(_ text: String) -> String? { percentDecode(text.utf8) }

    /// Percent-encodes everything except RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`), so
    /// the result is safe as a path segment or query name/value.
    public static func percentEncode(_ text: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for c in text.utf8 {
            switch c {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E:
                out.append(c)
            default:
                out.append(0x25)
                out.append(digits[Int(c >> 4)])
                out.append(digits[Int(c & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Builds `a=1&b=x%20y` from pairs, percent-encoding names and values.
    public static func encode(_ items: [Item]) -> String {
        items.map { percentEncode($0.name) + "=" + percentEncode($0.value) }.joined(separator: "&")
    }

    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
