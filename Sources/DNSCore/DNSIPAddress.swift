/// Text ⇄ bytes conversion for IPv4 (4 bytes) and IPv6 (16 bytes) addresses and CIDR networks,
/// without any system call. Pure; any thread.
public enum DNSIPAddress {
    /// Parses `192.0.2.1` or an IPv6 address (`2001:db8::1`, `::ffff:192.0.2.1`); nil when invalid.
    public static func parse(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        if utf8.contains(UInt8(ascii: ":")) { return parseV6(utf8[...]) }
        return parseV4(utf8[...])
    }

    /// Parses `192.0.2.0/24` or `2001:db8::/32` into (masked address bytes, prefix length);
    /// a bare address gets the full prefix. Nil when invalid.
    public static func parseNetwork(_ text: String) -> (address: [UInt8], prefixLength: Int)? {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = parse(String(parts[0])) else { return nil }
        var prefix = address.count * 8
        if parts.count == 2 {
            guard let p = Int(parts[1]), p >= 0, p <= prefix else { return nil }
            prefix = p
        }
        return (DNSMessage.ClientSubnet.mask(address, bits: prefix), prefix)
    }

    /// Formats 4 bytes as dotted quad and 16 bytes as RFC 5952 text; other lengths give nil.
    public static func format(_ bytes: [UInt8]) -> String? {
        if bytes.count == 4 { return "\(bytes[0]).\(bytes[1]).\(bytes[2]).\(bytes[3])" }
        guard bytes.count == 16 else { return nil }
        var groups = [UInt16](repeating: 0, count: 8)
        for i in 0..<8 { groups[i] = UInt16(bytes[2 * i]) << 8 | UInt16(bytes[2 * i + 1]) }
        var bestStart = -1, bestLength = 0, i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLength && j - i >= 2 { bestStart = i; bestLength = j - i }
                i = j
            } else { i += 1 }
        }
        var out = ""
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

    /// Whether `address` lies inside `network`/`prefixLength` (same family only). Pure.
    public static func contains(network: [UInt8], prefixLength: Int, address: [UInt8]) -> Bool {
        guard network.count == address.count, prefixLength <= address.count * 8 else { return false }
        var bits = prefixLength, i = 0
        while bits >= 8 {
            if network[i] != address[i] { return false }
            bits -= 8; i += 1
        }
        if bits > 0 {
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if network[i] & mask != address[i] & mask { return false }
        }
        return true
    }

    /// Maps `::ffff:a.b.c.d` to its 4 IPv4 bytes; returns other addresses unchanged. Pure.
    public static func unmapped(_ bytes: [UInt8]) -> [UInt8] {
        if bytes.count == 16 && bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return Array(bytes[12..<16])
        }
        return bytes
    }

    static func parseV4(_ s: ArraySlice<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        var value = 0, digits = 0
        for c in s {
            if c == UInt8(ascii: ".") {
                guard digits > 0, out.count < 3 else { return nil }
                out.append(UInt8(value)); value = 0; digits = 0
            } else if c >= 0x30 && c <= 0x39 {
                value = value * 10 + Int(c - 0x30)
                digits += 1
                guard value <= 255, digits <= 3 else { return nil }
            } else { return nil }
        }
        guard digits > 0, out.count == 3 else { return nil }
        out.append(UInt8(value))
        return out
    }

    static func parseV6(_ s: ArraySlice<UInt8>) -> [UInt8]? {
        var head: [UInt16] = [], tail: [UInt16] = []
        var sawGap = false
        var text = s
        if text.starts(with: [0x3A, 0x3A]) {
            sawGap = true
            text = text.dropFirst(2)
            if text.isEmpty { return [UInt8](repeating: 0, count: 16) }
        }
        if text.first == UInt8(ascii: ":") { return nil }
        var v4: [UInt8]? = nil
        let pieces = text.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        for (index, piece) in pieces.enumerated() {
            if piece.isEmpty {
                // "::" in the middle or at the end; a single empty piece is only valid as the trailing "::".
                if sawGap {
                    if index == pieces.count - 1 && text.last == UInt8(ascii: ":") && index > 0 && pieces[index - 1].isEmpty { continue }
                    return nil
                }
                sawGap = true
                if index == pieces.count - 1 { return nil }
                continue
            }
            if index == pieces.count - 1 && piece.contains(UInt8(ascii: ".")) {
                guard let b = parseV4(piece) else { return nil }
                v4 = b
                continue
            }
            guard piece.count <= 4 else { return nil }
            var value: UInt16 = 0
            for c in piece {
                let d: UInt16
                switch c {
                case 0x30...0x39: d = UInt16(c - 0x30)
                case 0x61...0x66: d = UInt16(c - 0x61 + 10)
                case 0x41...0x46: d = UInt16(c - 0x41 + 10)
                default: return nil
                }
                value = value << 4 | d
            }
            if sawGap { tail.append(value) } else { head.append(value) }
        }
        if let v4 {
            let group1 = UInt16(v4[0]) << 8 | UInt16(v4[1]), group2 = UInt16(v4[2]) << 8 | UInt16(v4[3])
            if sawGap { tail += [group1, group2] } else { head += [group1, group2] }
        }
        let total = head.count + tail.count
        if sawGap { guard total <= 7 else { return nil } } else { guard total == 8 else { return nil } }
        let groups = head + [UInt16](repeating: 0, count: 8 - total) + tail
        var out: [UInt8] = []
        out.reserveCapacity(16)
        for g in groups { out.append(UInt8(g >> 8)); out.append(UInt8(g & 0xFF)) }
        return out
    }
}
