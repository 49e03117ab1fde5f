/// Numeric IP address text ⇄ integers/bytes: dotted-quad IPv4 and RFC 4291 IPv6 parsing, RFC 5952
/// canonical formatting. No system calls, no name lookups. Pure; any thread; never blocks.
///
/// Parsing is strict like `inet_pton`: IPv4 octets are decimal without leading zeros, exactly four;
/// IPv6 has at most one `::`, at most 4 hex digits per group, an optional trailing dotted IPv4,
/// and no brackets, zone ids (`%eth0`) or prefix lengths.
public enum IPText {
    /// Parses a dotted-quad IPv4 address; most significant byte first (`192.0.2.1` is 0xC000_0201).
    /// `allowLeadingZeros` accepts octets like `010` as decimal (RFC 5321 `Snum` allows them).
    public static func parseIPv4(_ s: ArraySlice<UInt8>, allowLeadingZeros: Bool = false) -> UInt32? {
        var value: UInt32 = 0
        var octets = 0
        var current: UInt32 = 0
        var digits = 0
        var leadingZero = false
        for c in s {
            if c >= 0x30 && c <= 0x39 {
                if digits >= 1 && leadingZero && !allowLeadingZeros { return nil }
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

    /// Parses a textual IPv6 address (`2001:db8::1`, `::ffff:192.0.2.1`) into two 64-bit halves,
    /// most significant first. `allowLeadingZeros` applies to a trailing dotted IPv4 part.
    public static func parseIPv6(_ s: ArraySlice<UInt8>, allowLeadingZeros: Bool = false) -> (hi: UInt64, lo: UInt64)? {
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
            // A group or a trailing IPv4 part.
            var j = i
            var value: UInt32 = 0
            var hexDigits = 0
            while j < end, let h = hexValue(s[j]) {
                value = value << 4 | UInt32(h)
                hexDigits += 1
                if hexDigits > 4 { break }
                j += 1
            }
            if j < end && s[j] == 0x2E {
                // Embedded IPv4 must be last and fit in two groups.
                guard let v4 = parseIPv4(s[i..<end], allowLeadingZeros: allowLeadingZeros), groups.count <= 6 else { return nil }
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
            groups.insert(contentsOf: repeatElement(0, count: 8 - groups.count), at: gap)
        }
        guard groups.count == 8 else { return nil }
        var hi: UInt64 = 0, lo: UInt64 = 0
        for k in 0..<4 { hi = hi << 16 | UInt64(groups[k]) }
        for k in 4..<8 { lo = lo << 16 | UInt64(groups[k]) }
        return (hi, lo)
    }

    /// Parses IPv4 or IPv6 text into network-order bytes: 4 for IPv4, 16 for IPv6; nil when invalid.
    public static func parse(_ text: some StringProtocol, allowLeadingZeros: Bool = false) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        if let v4 = parseIPv4(utf8[...], allowLeadingZeros: allowLeadingZeros) { return bytes(v4) }
        if let (hi, lo) = parseIPv6(utf8[...], allowLeadingZeros: allowLeadingZeros) { return bytes(hi, lo) }
        return nil
    }

    /// Dotted-quad text of an IPv4 address.
    public static func formatIPv4(_ v: UInt32) -> String {
        "\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)"
    }

    /// RFC 5952 canonical text of an IPv6 address: lowercase hex, no leading zeros, the longest run
    /// (first on ties) of two or more zero groups as `::`. With `dottedMappedIPv4`, IPv4-mapped
    /// addresses are written `::ffff:a.b.c.d` (RFC 5952 §5).
    public static func formatIPv6(hi: UInt64, lo: UInt64, dottedMappedIPv4: Bool = true) -> String {
        if dottedMappedIPv4, hi == 0, lo >> 32 == 0xffff {
            return "::ffff:" + formatIPv4(UInt32(truncatingIfNeeded: lo))
        }
        var groups = [UInt16](repeating: 0, count: 8)
        for i in 0..<4 {
            groups[i] = UInt16(truncatingIfNeeded: hi >> UInt64(48 - 16 * i))
            groups[4 + i] = UInt16(truncatingIfNeeded: lo >> UInt64(48 - 16 * i))
        }
        var bestStart = -1, bestLength = 0, i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLength && j - i >= 2 { bestStart = i; bestLength = j - i }
                i = j
            } else {
                i += 1
            }
        }
        var out = ""
        out.reserveCapacity(39)
        i = 0
        while i < 8 {
            if i == bestStart {
                out += "::"
                i += bestLength
                continue
            }
            if !out.isEmpty && !out.hasSuffix(":") { out += ":" }
            out += String(groups[i], radix: 16)
            i += 1
        }
        return out
    }

    /// Formats 4 network-order bytes as dotted quad and 16 as RFC 5952 text; other lengths give nil.
    public static func format(_ bytes: some Collection<UInt8>, dottedMappedIPv4: Bool = true) -> String? {
        if bytes.count == 4 {
            var v: UInt32 = 0
            for b in bytes { v = v << 8 | UInt32(b) }
            return formatIPv4(v)
        }
        guard bytes.count == 16 else { return nil }
        var hi: UInt64 = 0, lo: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { hi = hi << 8 | UInt64(b) } else { lo = lo << 8 | UInt64(b) }
        }
        return formatIPv6(hi: hi, lo: lo, dottedMappedIPv4: dottedMappedIPv4)
    }

    /// The 4 network-order bytes of an IPv4 address.
    public static func bytes(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
    }

    /// The 16 network-order bytes of an IPv6 address.
    public static func bytes(_ hi: UInt64, _ lo: UInt64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            out[i] = UInt8(truncatingIfNeeded: hi >> UInt64(56 - 8 * i))
            out[8 + i] = UInt8(truncatingIfNeeded: lo >> UInt64(56 - 8 * i))
        }
        return out
    }

    /// The value of an ASCII hex digit, or nil.
    @inlinable
    public static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }
}
