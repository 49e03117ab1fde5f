/// Why the HTTP parser rejected input. After an error the connection must be closed (send the
/// response for `status` first when acting as a server).
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Kind of failure.
    public enum Code: String, Sendable {
        /// Malformed syntax (400).
        case badRequest
        /// Header section larger than the limit (431).
        case headersTooLarge
        /// Body larger than the limit (413).
        case bodyTooLarge
        /// A body without Content-Length, e.g. chunked (411).
        case lengthRequired
        /// A transfer coding other than chunked (501).
        case notImplemented
        /// Not HTTP/1.0 or HTTP/1.1 (505).
        case versionNotSupported
        /// A response could not be parsed (client side).
        case badResponse
        /// The connection ended in the middle of a message (client side).
        case truncated
    }

    /// The failure kind.
    public var code: Code
    /// Human explanation (safe to send to the peer).
    public var reason: String

    /// Creates an error.
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    /// The HTTP status a server should answer with.
    public var status: Int {
        switch code {
        case .badRequest, .badResponse, .truncated: return 400
        case .headersTooLarge: return 431
        case .bodyTooLarge: return 413
        case .lengthRequired: return 411
        case .notImplemented: return 501
        case .versionNotSupported: return 505
        }
    }

    /// `code: reason`.
    public var description: String { "\(code.rawValue): \(reason)" }
}
