import DNSCore
import Glibc

/// An IP address and port for DNS sockets, parsed from `127.0.0.1:53`, `[::1]:53`, or a bare
/// address (port defaults to the caller's choice). Pure value; any thread.
public struct DNSSocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 or 16 address bytes.
    public var address: [UInt8]
    public var port: UInt16

    /// Creates an address from bytes. Pure.
    public init(address: [UInt8], port: UInt16) {
        self.address = address
        self.port = port
    }

    /// Parses `host:port`, `[v6]:port`, or a bare IPv4/IPv6 address (then `defaultPort`).
    /// Host names are not accepted (no resolution happens here). Throws `DNSServiceError`.
    public init(_ text: String, defaultPort: UInt16 = 53) throws {
        var host = Substring(text)
        var port = defaultPort
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw DNSServiceError(.invalidAddress, "missing ]", address: text) }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = UInt16(rest.dropFirst()) else {
                    throw DNSServiceError(.invalidAddress, "bad port", address: text)
                }
                port = p
            }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.lastIndex(of: ":") {
            guard let p = UInt16(host[host.index(after: colon)...]) else {
                throw DNSServiceError(.invalidAddress, "bad port", address: text)
            }
            port = p
            host = host[..<colon]
        }
        guard let bytes = DNSIPAddress.parse(String(host)) else {
            throw DNSServiceError(.invalidAddress, "not an IP address", address: text)
        }
        self.address = bytes
        self.port = port
    }

    /// `127.0.0.1:53` or `[::1]:53`.
    public var description: String {
        let host = DNSIPAddress.format(address) ?? "?"
        return address.count == 16 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    var family: Int32 { address.count == 16 ? AF_INET6 : AF_INET }

    /// Calls `body` with a filled sockaddr of the right family and its length.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var storage = sockaddr_storage()
        let length: socklen_t
        if address.count == 16 {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: address) }
            length = Self.store(sin6, in: &storage)
        } else {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin.sin_addr) { $0.copyBytes(from: address.prefix(4)) }
            length = Self.store(sin, in: &storage)
        }
        return withUnsafePointer(to: &storage) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    /// Copies a concrete sockaddr into `storage`, returning its length.
    private static func store<T>(_ value: T, in storage: inout sockaddr_storage) -> socklen_t {
        withUnsafeMutableBytes(of: &storage) { raw in
            withUnsafeBytes(of: value) { raw.copyMemory(from: $0) }
        }
        return socklen_t(MemoryLayout<T>.size)
    }

    /// Reads an IPv4/IPv6 sockaddr; nil for other families.
    init?(storage: sockaddr_storage) {
        var copy = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let sin = withUnsafeBytes(of: &copy) { $0.load(as: sockaddr_in.self) }
            self.address = withUnsafeBytes(of: sin.sin_addr) { Array($0) }
            self.port = UInt16(bigEndian: sin.sin_port)
        case AF_INET6:
            let sin6 = withUnsafeBytes(of: &copy) { $0.load(as: sockaddr_in6.self) }
            self.address = withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }
            self.port = UInt16(bigEndian: sin6.sin6_port)
        default:
            return nil
        }
    }
}
