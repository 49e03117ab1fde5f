import Foundation

extension SMTPSession {
    /// MAIL FROM BODY= value (RFC 6152, RFC 3030).
    public enum BodyType: String, Sendable, Equatable {
        /// Plain 7-bit text (the default).
        case sevenBit = "7BIT"
        /// 8-bit text in lines (RFC 6152).
        case eightBitMIME = "8BITMIME"
        /// Arbitrary octets, only with BDAT (RFC 3030).
        case binaryMIME = "BINARYMIME"
    }

    /// MAIL FROM RET= value (RFC 3461): what a DSN should return.
    public enum DSNReturn: String, Sendable, Equatable {
        /// The full message.
        case full = "FULL"
        /// Only the headers.
        case headers = "HDRS"
    }

    /// RCPT TO NOTIFY= value (RFC 3461); the empty set means NEVER.
    public struct DSNNotify: OptionSet, Sendable, Hashable {
        /// The option bits.
        public let rawValue: UInt8
        /// Creates a set from raw bits. Does not block.
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// Notify on delivery.
        public static let success = DSNNotify(rawValue: 1)
        /// Notify on failure.
        public static let failure = DSNNotify(rawValue: 2)
        /// Notify on delay.
        public static let delay = DSNNotify(rawValue: 4)
        /// NEVER.
        public static let never: DSNNotify = []
    }

    /// RCPT TO ORCPT= value (RFC 3461): the original recipient, xtext-decoded.
    public struct OriginalRecipient: Sendable, Equatable {
        /// The address type, e.g. `rfc822` (as sent).
        public var addressType: String
        /// The decoded address.
        public var address: String

        /// Creates an original recipient. Does not block.
        public init(addressType: String, address: String) {
            self.addressType = addressType
            self.address = address
        }
    }

    /// One accepted recipient with its DSN options.
    public struct Recipient: Sendable, Equatable {
        /// The recipient mailbox.
        public var address: SMTPAddress
        /// NOTIFY=, or nil when not given (default behaviour: failures only).
        public var notify: DSNNotify?
        /// ORCPT=, if given.
        public var originalRecipient: OriginalRecipient?

        /// Creates a recipient. Does not block.
        public init(address: SMTPAddress, notify: DSNNotify? = nil, originalRecipient: OriginalRecipient? = nil) {
            self.address = address
            self.notify = notify
            self.originalRecipient = originalRecipient
        }
    }

    /// Everything known about one accepted message besides its bytes.
    public struct Envelope: Sendable, Equatable {
        /// Queue ID from `Environment.makeQueueID` at MAIL.
        public var queueID: String
        /// The reverse path; nil is the null sender `<>`.
        public var mailFrom: SMTPAddress?
        /// Accepted recipients in order.
        public var recipients: [Recipient]
        /// BODY= (7BIT when not declared).
        public var bodyType: BodyType
        /// True when MAIL carried SMTPUTF8.
        public var smtpUTF8: Bool
        /// SIZE= as declared, if any.
        public var declaredSize: Int?
        /// RET=, if given; always `.headers` for mail from an unauthenticated client outside the
        /// trusted networks (no full bodies bounced to possibly forged senders).
        public var dsnReturn: DSNReturn?
        /// ENVID=, xtext-decoded, if given.
        public var envelopeID: String?
        /// The authenticated user, if any.
        public var authenticatedUser: String?
        /// The authenticated user's tenant, if any.
        public var tenant: String?
        /// Client IP address.
        public var clientAddress: String
        /// Client port.
        public var clientPort: Int
        /// HELO/EHLO name.
        public var heloName: String
        /// TLS parameters when the message came over TLS.
        public var tlsInfo: TLSInfo?
        /// The listener kind.
        public var portKind: PortKind
        /// When the message was received (the Received header's date).
        public var receivedAt: Date
    }
}
