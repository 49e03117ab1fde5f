extension SMTPSession {
    /// What the shell must do, in order, after a call into the session.
    public enum Action: Sendable, Equatable {
        /// Write these bytes. All replies of one call are batched into one `.send`.
        case send([UInt8])
        /// Run the TLS handshake now (the 220 reply was in the preceding `.send`); then call `tlsEstablished`.
        /// Every byte buffered after STARTTLS has been discarded.
        case startTLS
        /// Verify these credentials, then call `authenticationCompleted`. Input is buffered meanwhile.
        case authenticate(AuthRequest)
        /// Store this message durably, then call `enqueueCompleted`. Input is buffered meanwhile.
        case enqueue(Envelope, [UInt8])
        /// Record this event.
        case log(LogEvent)
        /// Close the connection once the preceding `.send` is written.
        case close
    }

    /// Credentials from AUTH PLAIN, LOGIN or XOAUTH2 (whose bearer token is in `password`). The password never
    /// appears in `description`.
    public struct AuthRequest: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
                               CustomReflectable {
        /// SASL mechanism name, uppercased (`PLAIN`, `LOGIN`, `XOAUTH2`).
        public var mechanism: String
        /// The authentication identity (user name).
        public var username: String
        /// The password; never log it.
        public var password: String
        /// The PLAIN authorization identity, when the client sent one.
        public var authorizationIdentity: String?

        /// Creates a request. Does not block.
        public init(mechanism: String, username: String, password: String, authorizationIdentity: String? = nil) {
            self.mechanism = mechanism
            self.username = username
            self.password = password
            self.authorizationIdentity = authorizationIdentity
        }

        /// Mechanism and user, password redacted.
        public var description: String { "AuthRequest(\(mechanism), user: \(username), password: <redacted>)" }
        /// Same as `description`.
        public var debugDescription: String { description }
        /// Mechanism and user only, so that `dump` and reflection never show the password.
        public var customMirror: Mirror {
            Mirror(self, children: ["mechanism": mechanism, "username": username, "password": "<redacted>"])
        }
    }

    /// The shell's verdict on an `AuthRequest`.
    public enum AuthResult: Sendable, Equatable {
        /// Valid credentials: 235 2.7.0.
        case success(user: String, tenant: String?)
        /// Invalid credentials: 535 5.7.8.
        case failure
        /// Valid credentials that may not log in now (e.g. a suspended credential): 535 5.7.8 with this reason.
        case refused(reason: String)
        /// Too many failures from this client: 454 4.7.0.
        case throttled
        /// The credential store could not answer: 454 4.7.0.
        case temporaryFailure
    }

    /// The shell's outcome for an `.enqueue`.
    public enum EnqueueResult: Sendable, Equatable {
        /// Durably stored under this queue ID: 250 2.0.0.
        case queued(String)
        /// No space: 452 4.3.1.
        case storageFull
        /// Storing failed; the reason is logged, not sent: 451 4.3.0.
        case failed(reason: String)
        /// The cluster cannot commit now: 451 4.3.0, try again later.
        case unavailable
        /// Refused by policy (e.g. an unverified sender domain): `550 5.7.1 <reason>`, permanent.
        case refused(reason: String)
    }

    /// A structured log event. None carries a password or message content.
    public enum LogEvent: Sendable, Equatable {
        /// Session started (at `start()`).
        case connected(clientAddress: String, clientPort: Int, tls: TLSInfo?)
        /// HELO (`extended` false) or EHLO accepted.
        case helo(name: String, extended: Bool)
        /// STARTTLS handshake finished.
        case tlsEstablished(TLSInfo)
        /// Authentication succeeded.
        case authSucceeded(user: String, tenant: String?, mechanism: String)
        /// Authentication failed, throttled or could not be checked.
        case authFailed(user: String, mechanism: String, result: AuthResult)
        /// A reply was sent: code, enhanced code and the first line of text.
        case reply(code: Int, enhancedCode: String?, text: String)
        /// A message was handed to `.enqueue`.
        case messageReceived(queueID: String, sender: String, recipients: Int, size: Int)
        /// A message was durably queued.
        case queued(queueID: String)
        /// Enqueue failed; `reason` is the shell's explanation.
        case enqueueFailed(queueID: String, reason: String)
        /// A finished message was rejected (size, bare line endings, line length).
        case messageRejected(queueID: String, code: Int, enhancedCode: String, reason: String)
        /// The session is closing.
        case disconnected(reason: String)
    }
}
