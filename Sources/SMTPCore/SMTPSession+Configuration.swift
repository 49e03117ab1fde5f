extension SMTPSession {
    /// Which kind of listener the session runs on; decides TLS and authentication policy.
    public enum PortKind: String, Sendable, Equatable {
        /// Message submission, port 587 (RFC 6409): STARTTLS, AUTH required to send.
        case submission
        /// Submission over implicit TLS, port 465 (RFC 8314): AUTH required to send.
        case smtps
        /// MTA-to-MTA relay, port 25: unauthenticated clients may only send to local domains.
        case relay
    }

    /// Idle timeouts in seconds (RFC 5321 4.5.3.2); `SMTPSession.timeout` picks the one for the current state.
    public struct Timeouts: Sendable, Equatable {
        /// Waiting for the next command (RFC 5321 4.5.3.2.7: at least 5 minutes).
        public var command: Int
        /// Waiting for the next block of DATA or BDAT payload (4.5.3.2.5: 3 minutes).
        public var dataBlock: Int
        /// Waiting for the TLS handshake after STARTTLS.
        public var tlsHandshake: Int
        /// Waiting for the shell's own answer (authentication, enqueue); the client waits up to 10 minutes
        /// for the reply to the end of data (4.5.3.2.6).
        public var dataTermination: Int

        /// Creates timeouts; the defaults follow RFC 5321. Does not block.
        public init(command: Int = 300, dataBlock: Int = 180, tlsHandshake: Int = 60, dataTermination: Int = 600) {
            self.command = command
            self.dataBlock = dataBlock
            self.tlsHandshake = tlsHandshake
            self.dataTermination = dataTermination
        }
    }

    /// Static policy and limits of a listener; shared by all its sessions.
    public struct Configuration: Sendable {
        /// This server's host name, used in the greeting, EHLO, Received and Message-ID.
        public var hostname: String
        /// The kind of listener.
        public var portKind: PortKind
        /// Whether STARTTLS is offered (when the connection is not already TLS).
        public var tlsAvailable: Bool
        /// Largest message accepted (SIZE); larger ones get 552 5.3.4 even without a SIZE= declaration.
        public var maxMessageSize: Int
        /// Recipients per message; more get 452 4.5.3.
        public var maxRecipients: Int
        /// Failed commands per session before 421 4.7.0 and close.
        public var maxErrors: Int
        /// Commands per session before 421 4.7.0 and close.
        public var maxCommands: Int
        /// Longest command line including CRLF (RFC 5321 4.5.3.1.4); longer gets 500 5.5.2. MAIL and RCPT get
        /// the extra length their ESMTP parameters are allowed (650 and 500 octets).
        public var maxCommandLineLength: Int
        /// Longest AUTH command or SASL response line including CRLF (RFC 4954: 12288).
        public var maxAuthLineLength: Int
        /// Longest DATA line excluding CRLF (RFC 5322: 998); longer rejects the message after its end.
        public var maxDataLineLength: Int
        /// Lowercase domains that unauthenticated relay-port clients may send to.
        public var localDomains: Set<String>
        /// SASL mechanisms offered after TLS; PLAIN, LOGIN and XOAUTH2 are implemented, others are ignored.
        public var authMechanisms: [String]
        /// The `scope` named in the bearer mechanisms' error challenge (RFC 7628 3.2.2); nil: none.
        public var bearerScope: String? = nil
        /// Idle timeouts.
        public var timeouts: Timeouts
        /// Input a client may pipeline while the session waits for an AUTH check or an enqueue before
        /// the shell stops reading (`SMTPSession.wantsInput`).
        public var maxPendingInput: Int
        /// `Received` fields a message may already carry (RFC 5321 §6.3); more is taken as a mail loop
        /// and the message is refused at its end with `554 5.4.6`.
        public var maxHops: Int

        /// Creates a configuration; every value has a default. Does not block.
        public init(
            hostname: String = "localhost",
            portKind: PortKind = .submission,
            tlsAvailable: Bool = true,
            maxMessageSize: Int = 52_428_800,
            maxRecipients: Int = 1000,
            maxErrors: Int = 10,
            maxCommands: Int = 100_000,
            maxCommandLineLength: Int = 512,
            maxAuthLineLength: Int = 12_288,
            maxDataLineLength: Int = 998,
            localDomains: Set<String> = [],
            authMechanisms: [String] = ["PLAIN", "LOGIN"],
            timeouts: Timeouts = Timeouts(),
            maxPendingInput: Int = 65_536,
            maxHops: Int = 100
        ) {
            self.hostname = hostname
            self.portKind = portKind
            self.tlsAvailable = tlsAvailable
            self.maxMessageSize = maxMessageSize
            self.maxRecipients = maxRecipients
            self.maxErrors = maxErrors
            self.maxCommands = maxCommands
            self.maxCommandLineLength = maxCommandLineLength
            self.maxAuthLineLength = maxAuthLineLength
            self.maxDataLineLength = maxDataLineLength
            self.localDomains = localDomains
            self.authMechanisms = authMechanisms
            self.timeouts = timeouts
            self.maxPendingInput = maxPendingInput
            self.maxHops = maxHops
        }
    }
}
