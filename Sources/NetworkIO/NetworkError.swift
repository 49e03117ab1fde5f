import Glibc

/// An error from the network layer: a code, a human reason and the context it happened in.
///
/// `errno` values and OpenSSL error queues are mapped to this type in exactly one place each
/// (`NetworkError.posix(_:context:)` and `NetworkError.tls(_:)`).
public struct NetworkError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is.
    public enum Code: String, Sendable {
        case addressInvalid
        case addressInUse
        case permissionDenied
        case connectionRefused
        case connectionReset
        case timedOut
        case unreachable
        case tooManyOpenFiles
        case tlsFailure
        case tlsConfiguration
        case closed
        case io
    }

    /// The failure class.
    public var code: Code
    /// A sentence for operators.
    public var reason: String
    /// Where it happened (an address, a file, an operation).
    public var context: String
    /// The errno value, when the failure came from a system call.
    public var errno: Int32?

    /// Creates an error.
    public init(_ code: Code, _ reason: String, context: String = "", errno: Int32? = nil) {
        self.code = code
        self.reason = reason
        self.context = context
        self.errno = errno
    }

    public var description: String {
        context.isEmpty ? "\(code.rawValue): \(reason)" : "\(code.rawValue): \(reason) (\(context))"
    }

    /// Maps an errno value to a `NetworkError`. The only place errno is interpreted.
    public static func posix(_ err: Int32, context: String) -> NetworkError {
        let text = String(cString: strerror(err))
        let code: Code
        switch err {
        case EADDRINUSE: code = .addressInUse
        case EADDRNOTAVAIL, EAFNOSUPPORT, EINVAL: code = .addressInvalid
        case EACCES, EPERM: code = .permissionDenied
        case ECONNREFUSED: code = .connectionRefused
        case ECONNRESET, EPIPE, ECONNABORTED: code = .connectionReset
        case ETIMEDOUT: code = .timedOut
        case ENETUNREACH, EHOSTUNREACH: code = .unreachable
        case EMFILE, ENFILE: code = .tooManyOpenFiles
        default: code = .io
        }
        return NetworkError(code, text, context: context, errno: err)
    }
}
