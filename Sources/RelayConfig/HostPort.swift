/// A `host:port` endpoint from configuration: `192.0.2.1:25`, `[2001:db8::1]:587`, `mx.example:25`.
///
/// Pure value; any thread may use it. Port 0 is allowed (bind to an ephemeral port, used by tests).
public struct HostPort: Hashable, Sendable, CustomStringConvertible {
    /// The host: an IP literal (without brackets) or a DNS name (lowercased).
    public let host: String
    /// The TCP/UDP port, 0...65535.
    public let port: UInt16

    /// Creates an endpoint from parts; `host` is stored as given (no validation).
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// The host as an IP address when it is an IP literal, else nil (a name to resolve).
    public var ipAddress: IPAddress? { IPAddress(host) }

    /// Parses `host:port`. IPv6 literals need brackets. With `defaultPort` the `:port` part may be
    /// omitted (`127.0.0.1` → port 53 for resolvers). Returns nil when the text is not valid. Does not block.
    public init?(_ text: some StringProtocol, defaultPort: UInt16? = nil) {
        let s = String(text)
        var hostPart: Substring
        var portPart: Substring?
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { return nil }
            hostPart = s[s.index(after: s.startIndex)..<close]
            let rest = s[s.index(after: close)...]
            if rest.isEmpty {
                portPart = nil
            } else {
                guard rest.hasPrefix(":") else { return nil }
                portPart = rest.dropFirst()
            }
            guard let a = IPAddress(hostPart), !a.isIPv4 else { return nil }
        } else {
            if let colon = s.lastIndex(of: ":") {
                hostPart = s[..<colon]
                portPart = s[s.index(after: colon)...]
                if hostPart.contains(":") { return nil } // bare IPv6 needs brackets
            } else {
                hostPart = Substring(s)
                portPart = nil
            }
            guard IPAddress(hostPart) != nil || HostPort.isValidHostname(hostPart) else { return nil }
        }
        let port: UInt16
        if let p = portPart {
            guard !p.isEmpty, p.count <= 5, p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let n = Int(p), n <= 65535 else { return nil }
            port = UInt16(n)
        } else if let d = defaultPort {
            port = d
        } else {
            return nil
        }
        self.host = hostPart.lowercased()
        self.port = port
    }

    /// `host:port`, bracketing IPv6 literals.
    public var description: String {
        if let a = ipAddress, !a.isIPv4 { return "[\(a)]:\(port)" }
        return "\(host):\(port)"
    }

    /// True if `name` is a syntactically valid DNS host name: labels of letters, digits and hyphens
    /// (1-63 chars, not starting or ending with a hyphen), total ≤ 253, one optional trailing dot.
    /// Underscores are accepted inside labels (seen in internal names). Does not block.
    public static func isValidHostname(_ name: some StringProtocol) -> Bool {
        var bytes = Array(name.utf8)
        if bytes.last == 0x2E { bytes.removeLast() }
        if bytes.isEmpty || bytes.count > 253 { return false }
        var labelLength = 0
        var previous: UInt8 = 0x2E
        for c in bytes {
            switch c {
            case 0x2E:
                if labelLength == 0 || previous == 0x2D { return false }
                labelLength = 0
            case 0x2D:
                if labelLength == 0 { return false }
                labelLength += 1
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F:
                labelLength += 1
            default:
                return false
            }
            if labelLength > 63 { return false }
            previous = c
        }
        return labelLength > 0 && previous != 0x2D
    }
}

extension HostPort: Codable {
    /// Decodes `host:port` text.
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let hp = HostPort(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "'\(text)' is not a valid host:port"))
        }
        self = hp
    }

    /// Encodes as `host:port` text.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
