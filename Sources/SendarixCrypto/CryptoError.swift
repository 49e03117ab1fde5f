import COpenSSL

/// A failure of a cryptographic operation: what failed (`code`), a human reason (OpenSSL's error
/// queue where it has one), and the operation (`context`).
public struct CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure.
    public enum Code: String, Sendable, Equatable {
        /// Key bytes or PEM text that do not decode, or a key of the wrong kind or size.
        case invalidKey
        /// A signature, encryption or digest operation failed inside OpenSSL.
        case operationFailed
        /// Authenticated decryption found the data altered (or the wrong key).
        case authenticationFailed
        /// Input outside what the operation accepts (lengths, parameters).
        case invalidInput
    }

    public var code: Code
    public var reason: String
    public var context: String

    /// Creates an error. Any thread.
    public init(_ code: Code, _ reason: String, context: String = "") {
        self.code = code
        self.reason = reason
        self.context = context
    }

    public var description: String {
        context.isEmpty ? "\(code.rawValue): \(reason)" : "\(code.rawValue): \(reason) (\(context))"
    }

    /// Drains OpenSSL's error queue into an error: the one place this module reads it.
    static func openSSL(_ code: Code, _ context: String) -> CryptoError {
        var reasons: [String] = []
        while true {
            let e = ERR_get_error()
            if e == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(e, &buffer, buffer.count)
            let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            reasons.append(String(decoding: bytes, as: UTF8.self))
        }
        return CryptoError(code, reasons.isEmpty ? "OpenSSL reported no reason" : reasons.joined(separator: "; "),
                           context: context)
    }
}
