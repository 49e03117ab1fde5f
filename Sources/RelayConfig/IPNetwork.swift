/// A CIDR block such as `10.0.0.0/8` or `2001:db8::/32`; a bare address means a single host (/32 or /128).
///
/// Pure value; any thread may use it. Used for `users[].allowedNetworks`, `policy.trustedNetworks` and
/// `dns.regions`.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    /// The network address (host bits are always zero).
    public let address: IPAddress
    /// Prefix length: 0...32 for IPv4, 0...128 for IPv6.
    public let prefixLength: Int

    /// Why a CIDR string was rejected, as a human sentence fragment (used in config problems).
    public enum ParseFailure: Error, Equatable, Sendable, CustomStringConvertible {
        case notAnAddress
        case badPrefix
        case hostBitsSet(suggestion: String)

        /// Explains the failure, e.g. "has host bits set (did you mean 10.0.0.0/8?)".
        public var description: String {
            switch self {
            case .notAnAddress: return "is not an IP address or CIDR network"
            case .badPrefix: return "has an invalid prefix length (IPv4 allows /0-/32, IPv6 /0-/128)"
            case .hostBitsSet(let s): return "has host bits set (did you mean \(s)?)"
            }
        }
    }

    /// Creates a network, masking away any host bits. Precondition: `prefixLength` fits the family.
    public init(address: IPAddress, prefixLength: Int) {
        precondition(prefixLength >= 0 && prefixLength <= (address.isIPv4 ? 32 : 128))
        self.address = IPNetwork.mask(address, prefixLength)
        self.prefixLength = prefixLength
    }

    /// Parses `a.b.c.d/n`, `x::y/n` or a bare address. Host bits set after the prefix are an error
    /// (`10.0.0.1/8`), because that is almost always a typo. Does not block.
    public static func parse(_ text: some StringProtocol) -> Result<IPNetwork, ParseFailure> {
        let s = String(text)
        let parts = s.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let addr = IPAddress(parts[0]) else { return .failure(.notAnAddress) }
        let maxLen = addr.isIPv4 ? 32 : 128
        var length = maxLen
        if parts.count == 2 {
            let p = parts[1]
            guard !p.isEmpty, p.count <= 3, p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let n = Int(p), n <= maxLen, !(p.count > 1 && p.hasPrefix("0")) else {
                return .failure(.badPrefix)
            }
            length = n
        }
        let net = IPNetwork(address: addr, prefixLength: length)
        if net.address != addr {
            return .failure(.hostBitsSet(suggestion: net.description))
        }
        return .success(net)
    }

    /// Parses like `parse(_:)` and returns nil on any failure.
    public init?(_ text: some StringProtocol) {
        guard case .success(let n) = IPNetwork.parse(text) else { return nil }
        self = n
    }

    /// True if `ip` lies inside this network. IPv4 networks also match IPv4-mapped IPv6 addresses
    /// (`::ffff:10.1.2.3` is in `10.0.0.0/8`), and IPv6 networks match IPv4 addresses through their mapped form.
    public func contains(_ ip: IPAddress) -> Bool {
        switch (address, ip) {
        case (.v4, .v4):
            return IPNetwork.mask(ip, prefixLength) == address
        case (.v4, .v6):
            let u = ip.unmapped
            guard u.isIPv4 else { return false }
            return IPNetwork.mask(u, prefixLength) == address
        case (.v6, .v4):
            return IPNetwork.mask(ip.mappedToIPv6, prefixLength) == address
        case (.v6, .v6):
            return IPNetwork.mask(ip, prefixLength) == address
        }
    }

    /// `address/prefixLength`, always with the prefix.
    public var description: String { "\(address)/\(prefixLength)" }

    static func mask(_ a: IPAddress, _ len: Int) -> IPAddress {
        switch a {
        case .v4(let v):
            if len == 0 { return .v4(0) }
            return .v4(v & (UInt32.max << UInt32(32 - len)))
        case .v6(let hi, let lo):
            if len == 0 { return .v6(0, 0) }
            if len <= 64 { return .v6(hi & (UInt64.max << UInt64(64 - len)), 0) }
            if len == 128 { return a }
            return .v6(hi, lo & (UInt64.max << UInt64(128 - len)))
        }
    }
}

extension IPNetwork: Codable {
    /// Decodes a network from its CIDR text.
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        switch IPNetwork.parse(text) {
        case .success(let n): self = n
        case .failure(let f):
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "'\(text)' \(f)"))
        }
    }

    /// Encodes the network as CIDR text.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
