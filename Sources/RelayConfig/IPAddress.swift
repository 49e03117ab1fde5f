import SendarixSupport

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
        if let v4 = IPText.parseIPv4(utf8[...]) {
            self = .v4(v4)
        } else if let (hi, lo) = IPText.parseIPv6(utf8[...]) {
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
        case .v4(let v): return IPText.bytes(v)
        case .v6(let hi, let lo): return IPText.bytes(hi, lo)
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

    /// The key a client is counted under by per-client limits (connections, AUTH failures): an
    /// IPv4 address (also when IPv4-mapped) stands for itself, an IPv6 address for its prefix of
    /// `ipv6PrefixLength` bits (0...128), since one host usually controls a whole /64 and could
    /// otherwise rotate through it. Does not block.
    public func clientKey(ipv6PrefixLength: Int) -> IPAddress {
        let u = unmapped
        guard case .v6 = u else { return u }
        return IPNetwork.mask(u, min(128, max(0, ipv6PrefixLength)))
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
        case .v4(let v): return IPText.formatIPv4(v)
        case .v6(let hi, let lo): return IPText.formatIPv6(hi: hi, lo: lo)
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
