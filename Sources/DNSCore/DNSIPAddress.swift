import SendarixSupport

/// Text ⇄ bytes conversion for IPv4 (4 bytes) and IPv6 (16 bytes) addresses and CIDR networks,
/// without any system call. Pure; any thread.
public enum DNSIPAddress {
    /// Parses `192.0.2.1` or an IPv6 address (`2001:db8::1`, `::ffff:192.0.2.1`) into 4 or 16
    /// bytes; nil when invalid. IPv4 octets with leading zeros (`010`) are read as decimal.
    public static func parse(_ text: String) -> [UInt8]? {
        IPText.parse(text, allowLeadingZeros: true)
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

    /// Formats 4 bytes as dotted quad and 16 bytes as RFC 5952 text (IPv4-mapped addresses in hex
    /// groups, `::ffff:c000:201`); other lengths give nil.
    public static func format(_ bytes: [UInt8]) -> String? {
        IPText.format(bytes, dottedMappedIPv4: false)
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
}
