/// An error from the DNS I/O shells (bad listen/nameserver address, socket or bind failure).
/// Thrown by `DNSServer.init` and `DNSResolver.init`; any caller may inspect `code`.
public struct DNSServiceError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Sendable {
        /// An address string could not be parsed (`host:port`, `[v6]:port`).
        case invalidAddress
        /// `socket`, `setsockopt` or `fcntl` failed.
        case socket
        /// `bind` or `listen` failed (port in use, address not local, permission).
        case bind
        /// The worker thread could not be started.
        case thread
        /// No nameserver is configured or found in resolv.conf.
        case noNameservers
    }

    public var code: Code
    /// Human explanation.
    public var reason: String
    /// The address involved, if any.
    public var address: String?
    /// `errno` at the failure, if any.
    public var errno: Int32?

    /// Creates an error. Pure.
    public init(_ code: Code, _ reason: String, address: String? = nil, errno: Int32? = nil) {
        self.code = code
        self.reason = reason
        self.address = address
        self.errno = errno
    }

    /// `code: reason (address, errno N)`.
    public var description: String {
        var s = "\(code.rawValue): \(reason)"
        if let address { s += " (\(address))" }
        if let errno { s += " [errno \(errno)]" }
        return s
    }
}
