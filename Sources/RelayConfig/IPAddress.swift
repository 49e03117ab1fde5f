/// An IPv4 or IPv6 address held in integers (no heap allocation), with parsing and RFC 5952 formatting.
///
/// Pure value; any thread may use it. IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) stay IPv6 until
/// `unmapped` is asked for, so callers comparing against IPv4 networks should use `IPNetwork.contains`,
/// which handles the mapping.
public enum IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// An IPv4 address, most significant byte first (192.0.2.1 is 0xC000_0201).
    case v4(UInt32)
    /// An IPv6 address as two 64-bit halves, most significant first.
    case v6(UInt64, UInt64)

    /// Parses dotted-quad IPv4 (`192.0.2.1`) or textual IPv6 (`2001:db8::1`, `::ffff:192.0.2.1`).
    /// Brackets, zone ids (`%eth0`) and leading zeros in IPv4 octets are rejected. Does not block.
    public init?(_ text: some StringProtocol) {
        let utf8 = Array(text.utf8)
        if let v4 = IPAddress.parseV4(utf8[...]) {
            self = .v4(v4)
        } else if let (hi, lo) = IPAddress.parseV6(utf8[...]) {
            self = .v6(hi, lo)
        } else {
            return nil
        }
    }

    /// Builds an address from 4 (IPv4) or 16 (IPv6) network-order bytes, e.g. from a `sockaddr`.
    /// Returns nil for any other length. Does not block.
    public init?(bytes: some Collection<UInt8>) {
        if bytes.count == 4 {
            var v: UInt32 = 0
            for b in bytes { v = v << 8 | UInt32(b) }
            self = .v4(v)
        } else if bytes.count == 16 {
            var hi: UInt64 = 0, lo: UInt64 = 0
            for (i, b) in bytes.enumerated() {
                if i < 8 { hi = hi << 8 | UInt64(b) } else { lo = lo << 8 | UInt64(b) }
            }
            self = .v6(hi, lo)
        } else {
            return nil
        }
    }

    /// The address in network byte order: 4 bytes for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let v):
            return [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
        case .v6(let hi, let lo):
            var out = [UInt8](repeating: 0, count: 16)
            for i in 0..<8 {
                out[i] = UInt8(truncatingIfNeeded: hi >> UInt64(56 - 8 * i))
                out[8 + i] = UInt8(truncatingIfNeeded: lo >> UInt64(56 - 8 * i))
            }
            return out
        }
    }

    /// True for IPv4 addresses.
    public var isIPv4: Bool { if case .v4 = self { return true } else { return false } }

    /// For an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) the IPv4 address; otherwise `self`.
    public var unmapped: IPAddress {
        if case .v6(let hi, let lo) = self, hi == 0, lo >> 32 == 0xffff {
            return .v4(UInt32(truncatingIfNeeded: lo))
        }
        return self
    }

    /// The IPv4-mapped IPv6 form of an IPv4 address (`::ffff:a.b.c.d`); IPv6 addresses are returned unchanged.
    public var mappedToIPv6: IPAddress {
        if case .v4(let v) = self { return .v6(0, 0xffff_0000_0000 | UInt64(v)) }
        return self
    }

    /// True for 127.0.0.0/8, ::1 and IPv4-mapped loopback.
    public var isLoopback: Bool {
        switch unmapped {
        case .v4(let v): return v >> 24 == 127
        case .v6(let hi, let lo): return hi == 0 && lo == 1
        }
    }

    /// True for 0.0.0.0 and `::`.
    public var isUnspecified: Bool {
        switch self {
        case .v4(let v): return v == 0
        case .v6(let hi, let lo): return hi == 0 && lo == 0
        }
    }

    /// Orders IPv4 before IPv6, then numerically.
    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        switch (a, b) {
        case (.v4(let x), .v4(let y)): return x < y
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        case (.v6(let ah, let al), .v6(let bh, let bl)): return ah < bh || (ah == bh && al < bl)
        }
    }

    /// Dotted quad for IPv4; RFC 5952 canonical text for IPv6 (lowercase, longest zero run compressed,
    /// IPv4-mapped addresses as `::ffff:a.b.c.d`).
    public var description: String {
        switch self {
        case .v4(let v):
            return "\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)"
        case .v6(let hi, let lo):
            if hi == 0, lo >> 32 == 0xffff {
                return "::ffff:" + IPAddress.v4(UInt32(truncatingIfNeeded: lo)).description
            }
            var groups = [UInt16](repeating: 0, count: 8)
            for i in 0..<4 {
                groups[i] = UInt16(truncatingIfNeeded: hi >> UInt64(48 - 16 * i))
                groups[4 + i] = UInt16(truncatingIfNeeded: lo >> UInt64(48 - 16 * i))
            }
            // Longest run of zero groups (length >= 2), first one on ties.
            var bestStart = -1, bestLen = 0, i = 0
            while i < 8 {
                if groups[i] == 0 {
                    var j = i
                    while j < 8 && groups[j] == 0 { j += 1 }
                    if j - i > bestLen { bestStart = i; bestLen = j - i }
                    i = j
                } else {
                    i += 1
                }
            }
            if bestLen < 2 { bestStart = -1 }
            var out = ""
            var k = 0
            while k < 8 {
                if k == bestStart {
                    out += "::"
                    k += bestLen
                    continue
                }
                if !out.isEmpty && !out.hasSuffix(":") { out += ":" }
                out += String(groups[k], radix: 16)
                k += 1
            }
            return out
        }
    }

    // MARK: - Parsing

    static func parseV4(_ s: ArraySlice<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var octets = 0
        var current: UInt32 = 0
        var digits = 0
        var leadingZero = false
        for c in s {
            if c >= 0x30 && c <= 0x39 {
                if digits == 1 && leadingZero { return nil }
                if digits == 0 { leadingZero = c == 0x30 }
                current = current * 10 + UInt32(c - 0x30)
                digits += 1
                if digits > 3 || current > 255 { return nil }
            } else if c == 0x2E {
                if digits == 0 || octets == 3 { return nil }
                value = value << 8 | current
                octets += 1
                current = 0
                digits = 0
            } else {
                return nil
            }
        }
        if digits == 0 || octets != 3 { return nil }
        return value << 8 | current
    }

    static func parseV6(_ s: ArraySlice<UInt8>) -> (UInt64, UInt64)? {
        if s.count < 2 || s.count > 45 { return nil }
        var groups: [UInt16] = []
        groups.reserveCapacity(8)
        var gapIndex: Int? = nil
        var i = s.startIndex
        let end = s.endIndex
        if s[i] == 0x3A {
            // Must be "::" at the start.
            guard s[i + 1] == 0x3A else { return nil }
            gapIndex = 0
            i += 2
            if i == end { return (0, 0) }
        }
        while i < end {
            // Parse a group or a trailing IPv4 part.
            var j = i
            var value: UInt32 = 0
            var hexDigits = 0
            while j < end, let h = IPAddress.hexValue(s[j]) {
                value = value << 4 | UInt32(h)
                hexDigits += 1
                if hexDigits > 4 { break }
                j += 1
            }
            if j < end && s[j] == 0x2E {
                // Embedded IPv4 must be last and fit in two groups.
                guard let v4 = parseV4(s[i..<end]), groups.count <= 6 else { return nil }
                groups.append(UInt16(v4 >> 16))
                groups.append(UInt16(v4 & 0xffff))
                i = end
                break
            }
            guard hexDigits >= 1 && hexDigits <= 4 else { return nil }
            groups.append(UInt16(value))
            i = j
            if i == end { break }
            guard s[i] == 0x3A else { return nil }
            i += 1
            if i < end && s[i] == 0x3A {
                guard gapIndex == nil else { return nil }
                gapIndex = groups.count
                i += 1
                if i == end { break }
            } else if i == end {
                return nil // trailing single colon
            }
            if groups.count > 8 { return nil }
        }
        if let gap = gapIndex {
            guard groups.count <= 7 else { return nil }
            let fill = [UInt16](repeating: 0, count: 8 - groups.count)
            groups.insert(contentsOf: fill, at: gap)
        }
        guard groups.count == 8 else { return nil }
        var hi: UInt64 = 0, lo: UInt64 = 0
        for k in 0..<4 { hi = hi << 16 | UInt64(groups[k]) }
        for k in 4..<8 { lo = lo << 16 | UInt64(groups[k]) }
        return (hi, lo)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }
}

extension IPAddress: Codable {
    /// Decodes an address from its textual form.
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let a = IPAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "'\(text)' is not an IP address"))
        }
        self = a
    }

    /// Encodes the address as its textual form.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
