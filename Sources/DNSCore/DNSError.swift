/// An error from the DNS codec or from parsing DNS-related text (names, addresses).
///
/// Pure value; thrown by the decoder (`DNSMessage(decoding:)`), by `DNSName` and `DNSIPAddress`
/// parsing. Any caller may inspect `code` to decide (the responder maps every decode error to FORMERR).
public struct DNSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Sendable, Equatable {
        /// The packet ended before a field was complete.
        case truncated
        /// A compression pointer points forward, out of range, or would loop.
        case badPointer
        /// A label is longer than 63 bytes.
        case labelTooLong
        /// A name is longer than 255 bytes in wire form.
        case nameTooLong
        /// A label uses the reserved 0x40/0x80 label types.
        case badLabelType
        /// Record data does not match its declared length or its type's layout.
        case badRData
        /// Bytes remain after the last declared record.
        case trailingBytes
        /// An OPT record is misplaced, duplicated or malformed.
        case badOPT
        /// Text could not be parsed as a name or address.
        case invalidText
    }

    /// Machine-readable category.
    public var code: Code
    /// Human explanation.
    public var reason: String
    /// Byte offset in the packet (or character offset in text) where the problem was found, if known.
    public var offset: Int?

    /// Creates an error. Pure; callable from anywhere.
    public init(_ code: Code, _ reason: String, offset: Int? = nil) {
        self.code = code
        self.reason = reason
        self.offset = offset
    }

    /// `code: reason (at offset N)`.
    public var description: String {
        if let offset { return "\(code.rawValue): \(reason) (at offset \(offset))" }
        return "\(code.rawValue): \(reason)"
    }
}
