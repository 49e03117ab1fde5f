import Glibc

/// An IPv4 or IPv6 socket address (`sockaddr_storage`), parsed from and printed as `host:port`
/// or `[v6]:port`. Host names are not resolved here.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// The raw address storage.
    public var storage: sockaddr_storage
    /// The length of the used part of `storage`.
    public var length: socklen_t

    /// Wraps raw storage returned by `accept`, `getsockname` or `recvfrom`.
    public init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// Parses `"127.0.0.1:25"`, `"[::1]:587"`, `"0.0.0.0:0"`. Throws `addressInvalid` otherwise.
    public init(parsing text: String) throws {
        var host = Substring(text)
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw NetworkError(.addressInvalid, "missing ']' in IPv6 address", context: text)
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw NetworkError(.addressInvalid, "missing port", context: text) }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw NetworkError(.addressInvalid, "missing port", context: text)
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let port = UInt16(portText) else {
            throw NetworkError(.addressInvalid, "invalid port", context: text)
        }
        try self.init(ip: String(host), port: port)
    }

    /// Builds an address from a numeric IP (v4 or v6) and a port.
    public init(ip: String, port: UInt16) throws {
        var storage = sockaddr_storage()
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, ip, &v4) == 1 {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr = v4
            withUnsafeMutableBytes(of: &storage) { dst in
                withUnsafeBytes(of: sin) { dst.copyMemory(from: $0) }
            }
            self.init(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in>.size))
        } else if inet_pton(AF_INET6, ip, &v6) == 1 {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            sin6.sin6_addr = v6
            withUnsafeMutableBytes(of: &storage) { dst in
                withUnsafeBytes(of: sin6) { dst.copyMemory(from: $0) }
            }
            self.init(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in6>.size))
        } else {
            throw NetworkError(.addressInvalid, "not a numeric IP address", context: ip)
        }
    }

    /// The address family (`AF_INET` or `AF_INET6`).
    public var family: Int32 { Int32(storage.ss_family) }

    /// The numeric host part, e.g. `127.0.0.1` or `::1` (IPv4-mapped IPv6 printed as IPv4).
    public var ip: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        var s = storage
        return withUnsafePointer(to: &s) { ptr -> String in
            if family == AF_INET {
                return ptr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var a = sin.pointee.sin_addr
                    inet_ntop(AF_INET, &a, &buffer, socklen_t(buffer.count))
                    return String(nulTerminated: buffer)
                }
            }
            return ptr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                var a = sin6.pointee.sin6_addr
                let bytes = withUnsafeBytes(of: a) { Array($0) }
                if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
                    return "\(bytes[12]).\(bytes[13]).\(bytes[14]).\(bytes[15])"
                }
                inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count))
                return String(nulTerminated: buffer)
            }
        }
    }

    /// The port in host byte order.
    public var port: UInt16 {
        var s = storage
        return withUnsafePointer(to: &s) { ptr in
            if family == AF_INET {
                return ptr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            }
            return ptr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
        }
    }

    public var description: String { family == AF_INET6 && !ip.contains(".") ? "[\(ip)]:\(port)" : "\(ip):\(port)" }

    public static func == (a: SocketAddress, b: SocketAddress) -> Bool { a.description == b.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }

    /// Calls `body` with a `sockaddr` pointer to this address.
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        var s = storage
        return try withUnsafePointer(to: &s) { ptr in
            try ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
        }
    }
}
