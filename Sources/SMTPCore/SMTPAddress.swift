/// An RFC 5321 mailbox (`local-part@domain`), as used in MAIL FROM / RCPT TO and by the delivery engine.
///
/// The local part is kept exactly as the client sent it (quotes and escapes included, `user+tag` untouched);
/// the domain is kept as given in `domain` and lowercased in `normalizedDomain`, which equality, hashing and
/// policy comparisons use. A pure value; does not block; any caller may use it.
public struct SMTPAddress: Sendable, Hashable, CustomStringConvertible {
    /// The local part in wire form, e.g. `user+tag` or `"john doe"`.
    public let localPart: String
    /// The domain or address literal as given, e.g. `Example.COM` or `[192.0.2.1]`.
    public let domain: String
    /// The domain lowercased, for comparisons and routing.
    public let normalizedDomain: String

    /// Creates an address from parts that are already valid; use `parse` for untrusted text. Does not block.
    public init(localPart: String, domain: String) {
        self.localPart = localPart
        self.domain = domain
        self.normalizedDomain = domain.lowercased()
    }

    /// `local@domain` in wire form, as given.
    public var address: String { localPart + "@" + domain }

    /// The address as an SMTP path, `<local@domain>`, for MAIL FROM / RCPT TO.
    public var path: String { "<" + address + ">" }

    /// Same as `address`.
    public var description: String { address }

    /// True when the domain is an address literal (`[1.2.3.4]` or `[IPv6:...]`).
    public var isAddressLiteral: Bool { domain.hasPrefix("[") }

    /// True when the address contains non-ASCII characters and so needs SMTPUTF8 to be transmitted.
    public var requiresSMTPUTF8: Bool {
        localPart.utf8.contains { $0 >= 0x80 } || domain.utf8.contains { $0 >= 0x80 }
    }

    /// Equal when the local parts are identical and the domains equal ignoring case.
    public static func == (lhs: SMTPAddress, rhs: SMTPAddress) -> Bool {
        lhs.localPart == rhs.localPart && lhs.normalizedDomain == rhs.normalizedDomain
    }

    /// Hashes the local part and the normalized domain.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(localPart)
        hasher.combine(normalizedDomain)
    }

    /// Why an address could not be parsed.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The kind of failure.
        public enum Code: Sendable, Equatable {
            /// Nothing to parse.
            case empty
            /// A path lacks its angle brackets or has text around them.
            case invalidPath
            /// The path is longer than 256 octets.
            case pathTooLong
            /// No `@` between local part and domain.
            case missingAt
            /// The local part is neither a dot-string nor a quoted string.
            case invalidLocalPart
            /// The local part is longer than 64 octets.
            case localPartTooLong
            /// The domain is not a valid host name.
            case invalidDomain
            /// The domain is longer than 255 octets.
            case domainTooLong
            /// A bracketed literal is not a valid IPv4 or IPv6 address.
            case invalidAddressLiteral
            /// Non-ASCII characters without SMTPUTF8 (RFC 6531).
            case nonASCII
        }
        /// The kind of failure.
        public var code: Code
        /// A human explanation.
        public var reason: String
        /// The text that failed to parse.
        public var input: String

        /// Creates an error. Does not block.
        public init(_ code: Code, _ reason: String, input: String) {
            self.code = code
            self.reason = reason
            self.input = input
        }

        /// `reason: input`.
        public var description: String { "\(reason): \(input)" }
    }
}
