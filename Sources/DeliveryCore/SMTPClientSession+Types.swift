extension SMTPClientSession {
    /// How to use TLS on this connection (`routes[].tls` in the configuration).
    public enum TLSPolicy: String, Sendable, Hashable, Codable, CaseIterable {
        /// Never send STARTTLS.
        case none
        /// Use STARTTLS when offered, without certificate verification; fall back to plaintext.
        case opportunistic
        /// Require STARTTLS (fail the attempt if not offered), without verification.
        case required
        /// Require STARTTLS and a certificate that verifies for the host (the shell verifies).
        case verify
    }

    /// SMTP AUTH credentials for a smart host.
    public struct Credentials: Sendable, Equatable {
        /// The user name.
        public var username: String
        /// The password.
        public var password: String

        /// Creates credentials. Pure; any caller.
        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    /// Session settings.
    public struct Configuration: Sendable, Equatable {
        /// The name sent with EHLO/HELO (our host name).
        public var heloName: String
        /// TLS policy.
        public var tlsPolicy: TLSPolicy
        /// True when the connection is already TLS (implicit TLS, port 465): no STARTTLS.
        public var implicitTLS: Bool
        /// Credentials to authenticate with, or nil.
        public var credentials: Credentials?
        /// Allow sending credentials over a connection without TLS (off by default).
        public var allowPlaintextAuth: Bool
        /// Pipeline MAIL/RCPT/DATA when the server offers PIPELINING.
        public var usePipelining: Bool
        /// Send bodies with BDAT when the server offers CHUNKING.
        public var useChunking: Bool
        /// Convert 8-bit messages to quoted-printable for servers without 8BITMIME (otherwise fail
        /// them with 554 5.6.3).
        public var convertEightBit: Bool
        /// Largest BDAT chunk in bytes.
        public var chunkSize: Int
        /// Send RSET before every transaction after the first on a connection, not only after an
        /// aborted one (a completed DATA/BDAT already ends the transaction, RFC 5321 4.1.4, so
        /// this costs a round trip without PIPELINING and is off by default).
        public var resetBetweenTransactions: Bool

        /// Creates a configuration. Pure; any caller.
        public init(heloName: String, tlsPolicy: TLSPolicy = .opportunistic, implicitTLS: Bool = false,
                    credentials: Credentials? = nil, allowPlaintextAuth: Bool = false, usePipelining: Bool = true,
                    useChunking: Bool = true, convertEightBit: Bool = true, chunkSize: Int = 1 << 20,
                    resetBetweenTransactions: Bool = false) {
            self.heloName = heloName
            self.tlsPolicy = tlsPolicy
            self.implicitTLS = implicitTLS
            self.credentials = credentials
            self.allowPlaintextAuth = allowPlaintextAuth
            self.usePipelining = usePipelining
            self.useChunking = useChunking
            self.convertEightBit = convertEightBit
            self.chunkSize = max(1, chunkSize)
            self.resetBetweenTransactions = resetBetweenTransactions
        }
    }

    /// What the server advertised in its EHLO reply.
    public struct Capabilities: Sendable, Equatable {
        /// PIPELINING (RFC 2920).
        public var pipelining = false
        /// SIZE limit in bytes: nil when SIZE is not advertised, 0 when advertised without a limit.
        public var size: Int?
        /// 8BITMIME (RFC 6152).
        public var eightBitMIME = false
        /// SMTPUTF8 (RFC 6531).
        public var smtpUTF8 = false
        /// CHUNKING / BDAT (RFC 3030).
        public var chunking = false
        /// STARTTLS (RFC 3207).
        public var startTLS = false
        /// DSN (RFC 3461).
        public var dsn = false
        /// ENHANCEDSTATUSCODES (RFC 2034).
        public var enhancedStatusCodes = false
        /// AUTH mechanisms, uppercased.
        public var authMechanisms: [String] = []
        /// Every advertised keyword, uppercased, in order.
        public var keywords: [String] = []

        /// No capabilities (after HELO). Pure; any caller.
        public init() {}

        /// Parses an EHLO reply: the first line is the server's greeting name, each further line a
        /// keyword with parameters. Pure; any caller.
        public init(ehlo reply: SMTPReply) {
            for line in reply.lines.dropFirst() {
                let parts = line.split(separator: " ").map(String.init)
                guard let first = parts.first else { continue }
                var keyword = first.uppercased()
                var parameters = Array(parts.dropFirst())
                // Old servers send "AUTH=LOGIN PLAIN".
                if keyword.hasPrefix("AUTH="), keyword.count > 5 {
                    parameters.insert(String(keyword.dropFirst(5)), at: 0)
                    keyword = "AUTH"
                }
                keywords.append(keyword)
                switch keyword {
                case "PIPELINING": pipelining = true
                case "SIZE": size = parameters.first.flatMap { Int($0) } ?? 0
                case "8BITMIME": eightBitMIME = true
                case "SMTPUTF8": smtpUTF8 = true
                case "CHUNKING": chunking = true
                case "STARTTLS": startTLS = true
                case "DSN": dsn = true
                case "ENHANCEDSTATUSCODES": enhancedStatusCodes = true
                case "AUTH":
                    for mechanism in parameters.map({ $0.uppercased() }) where !authMechanisms.contains(mechanism) {
                        authMechanisms.append(mechanism)
                    }
                default: break
                }
            }
        }
    }

    /// DSN RET parameter (RFC 3461).
    public enum DSNReturn: String, Sendable, Hashable, Codable {
        /// Return the full message.
        case full = "FULL"
        /// Return headers only.
        case headers = "HDRS"
    }

    /// DSN NOTIFY values (RFC 3461).
    public enum DSNNotify: String, Sendable, Hashable, Codable {
        /// Notify on success.
        case success = "SUCCESS"
        /// Notify on failure.
        case failure = "FAILURE"
        /// Notify on delay.
        case delay = "DELAY"
        /// Never notify.
        case never = "NEVER"
    }

    /// One envelope recipient.
    public struct Recipient: Sendable, Equatable {
        /// The address, without angle brackets.
        public var address: String
        /// NOTIFY values to pass on (only when the server offers DSN).
        public var notify: [DSNNotify]?
        /// ORCPT address to pass on (only when the server offers DSN).
        public var originalRecipient: String?

        /// Creates a recipient. Pure; any caller.
        public init(_ address: String, notify: [DSNNotify]? = nil, originalRecipient: String? = nil) {
            self.address = address
            self.notify = notify
            self.originalRecipient = originalRecipient
        }
    }

    /// One message to send: envelope and content.
    public struct Transaction: Sendable, Equatable {
        /// A caller-chosen tag echoed in the result (e.g. the queue entry number).
        public var tag: UInt64
        /// The reverse-path without angle brackets; empty for the null sender `<>`.
        public var mailFrom: String
        /// Envelope recipients.
        public var recipients: [Recipient]
        /// The RFC 5322 message (headers and body), CRLF line endings (bare LF is normalised).
        public var message: [UInt8]
        /// True when the message needs SMTPUTF8 (set automatically for non-ASCII addresses; set it
        /// for UTF-8 header fields).
        public var requiresSMTPUTF8: Bool
        /// DSN RET value to pass on.
        public var dsnReturn: DSNReturn?
        /// DSN ENVID to pass on.
        public var envelopeID: String?

        /// Creates a transaction. Pure; any caller.
        public init(tag: UInt64 = 0, mailFrom: String, recipients: [Recipient], message: [UInt8],
                    requiresSMTPUTF8: Bool = false, dsnReturn: DSNReturn? = nil, envelopeID: String? = nil) {
            self.tag = tag
            self.mailFrom = mailFrom
            self.recipients = recipients
            self.message = message
            let nonASCII = mailFrom.utf8.contains { $0 >= 0x80 } || recipients.contains { $0.address.utf8.contains { $0 >= 0x80 } }
            self.requiresSMTPUTF8 = requiresSMTPUTF8 || nonASCII
            self.dsnReturn = dsnReturn
            self.envelopeID = envelopeID
        }
    }

    /// The outcome for one recipient.
    public struct RecipientResult: Sendable, Equatable {
        /// Outcome categories.
        public enum Status: String, Sendable, Equatable {
            /// The server accepted the message for this recipient (2xx after the body).
            case delivered
            /// Temporary failure: retry later.
            case deferred
            /// Permanent failure.
            case failed
        }

        /// The recipient address.
        public var address: String
        /// The reply that decided the outcome (server reply, or a local one when `isLocal`).
        public var reply: SMTPReply
        /// True when the client produced the reply (e.g. SIZE refusal, lost connection).
        public var isLocal: Bool
        /// The stage whose reply decided this recipient: `.recipient` for a RCPT reply, `.mail` for a MAIL
        /// FROM refusal (or a refusal of the message before MAIL), `.data`/`.body` for a reply to DATA or to
        /// the message, which in SMTP speaks for every accepted recipient at once; the failing stage when
        /// the session ended early; nil when unknown. Only a `.recipient` reply is about this address alone,
        /// or a `.data`/`.body` one when this was the transaction's only accepted recipient
        /// (`BounceClassification.suppressesRecipient(acceptedRecipients:)`).
        public var stage: Stage?

        /// Creates a result. Pure; any caller.
        public init(address: String, reply: SMTPReply, isLocal: Bool, stage: Stage? = nil) {
            self.address = address
            self.reply = reply
            self.isLocal = isLocal
            self.stage = stage
        }

        /// Derived from the reply code. Pure; any caller.
        public var status: Status {
            reply.isPositive ? .delivered : (reply.isPermanent ? .failed : .deferred)
        }
    }

    /// The outcome of one transaction.
    public struct TransactionResult: Sendable, Equatable {
        /// The transaction's tag.
        public var tag: UInt64
        /// One result per recipient, in the transaction's order.
        public var recipients: [RecipientResult]
        /// True when the body was converted to 7-bit for a server without 8BITMIME.
        public var convertedTo7Bit: Bool
        /// True when the body (or part of it) was transmitted: a failure after this point may still
        /// have delivered the message (duplicate risk on retry).
        public var bodyTransmitted: Bool
        /// How many recipients the receiver accepted at RCPT TO (after an accepted MAIL FROM): the
        /// recipients a reply to DATA or to the message speaks for
        /// (`BounceClassification.suppressesRecipient(acceptedRecipients:)`); 0 when none or unknown.
        public var acceptedRecipients: Int

        /// Creates a result. Pure; any caller.
        public init(tag: UInt64, recipients: [RecipientResult], convertedTo7Bit: Bool = false, bodyTransmitted: Bool = false,
                    acceptedRecipients: Int = 0) {
            self.tag = tag
            self.recipients = recipients
            self.convertedTo7Bit = convertedTo7Bit
            self.bodyTransmitted = bodyTransmitted
            self.acceptedRecipients = acceptedRecipients
        }
    }

    /// The step a session was at, for failures and timeouts.
    public enum Stage: String, Sendable, Equatable {
        /// Waiting for the server greeting.
        case greeting
        /// EHLO or HELO.
        case hello
        /// STARTTLS command or the TLS handshake.
        case startTLS = "starttls"
        /// AUTH exchange.
        case auth
        /// RSET before a transaction.
        case reset
        /// MAIL FROM.
        case mail
        /// RCPT TO.
        case recipient
        /// DATA command.
        case data
        /// Message content (after 354, or BDAT).
        case body
        /// QUIT.
        case quit
        /// Idle between transactions.
        case idle
    }

    /// Why a session ended before its work was done.
    public struct SessionFailure: Sendable, Equatable {
        /// The reply that ended the session (server or local).
        public var reply: SMTPReply
        /// True when the client produced the reply.
        public var isLocal: Bool
        /// Where the session was.
        public var stage: Stage
        /// True when an opportunistic TLS handshake failed: retry on a new connection without TLS.
        public var retryWithoutTLS: Bool

        /// Creates a failure. Pure; any caller.
        public init(reply: SMTPReply, isLocal: Bool, stage: Stage, retryWithoutTLS: Bool = false) {
            self.reply = reply
            self.isLocal = isLocal
            self.stage = stage
            self.retryWithoutTLS = retryWithoutTLS
        }
    }

    /// What the shell must do.
    public enum Action: Sendable, Equatable {
        /// Write these bytes to the connection (in order, in one write where possible).
        case send([UInt8])
        /// The next `send` carries the message body: once it leaves, the server may accept the
        /// message. A shell that may no longer deliver (its delivery lease is too close to its
        /// end) closes the connection instead of sending; the transaction then fails as a lost
        /// connection and nothing is delivered.
        case commitPoint(tag: UInt64)
        /// Run the TLS client handshake now (verifying the certificate against the host when
        /// `verifyCertificate`), then call `tlsEstablished()` or `tlsFailed(verification:)`.
        case startTLS(verifyCertificate: Bool)
        /// The session is idle and authenticated: submit a transaction or quit.
        case ready(Capabilities)
        /// A transaction finished with per-recipient results.
        case finished(TransactionResult)
        /// The session cannot continue; queued and in-flight transactions have been finished.
        case failed(SessionFailure)
        /// Close the connection.
        case close
    }
}
