import Foundation

extension SMTPSession {
    /// The negotiated TLS parameters, for Received headers and logs.
    public struct TLSInfo: Sendable, Equatable {
        /// Protocol version, e.g. `TLSv1.3`.
        public var version: String
        /// Cipher suite name, e.g. `TLS_AES_256_GCM_SHA384`.
        public var cipher: String

        /// Creates TLS info. Does not block.
        public init(version: String, cipher: String) {
            self.version = version
            self.cipher = cipher
        }
    }

    /// Facts about one accepted connection, supplied by the shell.
    public struct ConnectionContext: Sendable, Equatable {
        /// The client's IP address in text form.
        public var clientAddress: String
        /// The client's port.
        public var clientPort: Int
        /// True when the client is in a trusted network, which may send and relay without AUTH.
        public var isTrustedNetwork: Bool
        /// True when the connection is already TLS (smtps).
        public var isTLS: Bool
        /// TLS parameters when `isTLS`.
        public var tlsInfo: TLSInfo?
        /// Identifier used in logs.
        public var sessionID: String

        /// Creates a context. Does not block.
        public init(clientAddress: String, clientPort: Int = 0, isTrustedNetwork: Bool = false,
                    isTLS: Bool = false, tlsInfo: TLSInfo? = nil, sessionID: String = "") {
            self.clientAddress = clientAddress
            self.clientPort = clientPort
            self.isTrustedNetwork = isTrustedNetwork
            self.isTLS = isTLS
            self.tlsInfo = tlsInfo
            self.sessionID = sessionID
        }
    }

    /// The clock and identifier source, injected so that sessions are deterministic under test.
    public struct Environment: Sendable {
        /// The current time; called once per accepted message.
        public var now: @Sendable () -> Date
        /// A new unique queue ID; called once per transaction (at MAIL).
        public var makeQueueID: @Sendable () -> String
        /// The process-wide memory for bodies being received; nil means unbounded.
        public var bodyBudget: BodyMemoryBudget?
        /// The shell's sending policy, asked at MAIL and RCPT (runs on the session's thread: keep it
        /// quick); nil admits everything.
        public var admission: (@Sendable (AdmissionCheck) -> AdmissionRefusal?)? = nil
        /// Recipient verification on the relay port: true accepts the address (a valid VERP or
        /// feedback address, even when it is not a local domain), false refuses it with `550 5.1.1`
        /// (an unknown or forged address at a bounce domain), nil leaves it to the usual rules.
        public var recipientCheck: (@Sendable (_ address: String) -> Bool?)? = nil

        /// Creates an environment. Does not block.
        public init(now: @escaping @Sendable () -> Date, makeQueueID: @escaping @Sendable () -> String,
                    bodyBudget: BodyMemoryBudget? = nil) {
            self.now = now
            self.makeQueueID = makeQueueID
            self.bodyBudget = bodyBudget
        }
    }
}
