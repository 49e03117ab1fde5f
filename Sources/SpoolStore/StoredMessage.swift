/// A message in the spool: its envelope, metadata and per-recipient delivery
/// state (the body is stored separately in segments; see ``SpoolStore/messageBody(id:)``).
///
/// Produced by the state machine (``SpoolMachine``) and read back with
/// ``SpoolStore/message(id:)``. Pure value; any thread.
public struct StoredMessage: Sendable, Equatable {
    public var queueID: String
    public var messageID: String
    public var tenant: String
    public var authUser: String
    public var clientIP: String
    /// Reverse path; "" is the null sender.
    public var sender: String
    /// Received time, ms since epoch.
    public var receivedAt: Int64
    public var bodyType: SpoolCommand.BodyType
    public var flags: SpoolCommand.Flags
    public var dsnEnvelopeID: String
    public var dsnReturn: SpoolCommand.DSNReturn
    /// Body size in bytes.
    public var bodySize: Int
    /// Delivery state of each recipient, in RCPT order.
    public var recipients: [RecipientState]
    /// Highest attempt number claimed so far (0 = never attempted).
    public var attempts: UInt32
    /// The current delivery lease, if any (it may have expired; compare with your clock).
    public var lease: Lease?

    /// A delivery lease recorded by a committed claim.
    public struct Lease: Sendable, Equatable {
        public var owner: String
        public var attempt: UInt32
        /// ms since epoch.
        public var expiresAt: Int64
        /// The owner's process incarnation when it claimed (0 = unknown).
        public var incarnation: UInt64

        /// Creates a lease value. Any thread.
        public init(owner: String, attempt: UInt32, expiresAt: Int64, incarnation: UInt64 = 0) {
            self.owner = owner
            self.attempt = attempt
            self.expiresAt = expiresAt
            self.incarnation = incarnation
        }
    }

    /// Delivery state of one recipient.
    public enum Status: UInt8, Sendable {
        /// Not yet attempted.
        case pending = 0
        /// Temporarily failed; retried at `nextAttemptAt`.
        case deferred = 1
        case delivered = 2
        case bounced = 3
        case suppressed = 4
        /// Removed by an operator before it was delivered.
        case failed = 5

        /// True for states that need no further delivery attempt.
        public var isFinal: Bool { self != .pending && self != .deferred }
    }

    /// One recipient and what has happened to it so far.
    public struct RecipientState: Sendable, Equatable {
        public var address: String
        public var notify: SpoolCommand.Notify
        public var originalRecipient: String
        public var status: Status
        /// When this recipient should next be tried (ms since epoch); meaningful while not final.
        public var nextAttemptAt: Int64
        /// Last SMTP reply code seen (0 = none).
        public var lastCode: UInt16
        public var lastEnhancedCode: String
        public var lastResponse: String
        public var lastRemoteHost: String
        public var lastBounceClass: String

        /// Creates a recipient state. Any thread.
        public init(address: String, notify: SpoolCommand.Notify, originalRecipient: String, status: Status,
                    nextAttemptAt: Int64, lastCode: UInt16 = 0, lastEnhancedCode: String = "",
                    lastResponse: String = "", lastRemoteHost: String = "", lastBounceClass: String = "") {
            self.address = address
            self.notify = notify
            self.originalRecipient = originalRecipient
            self.status = status
            self.nextAttemptAt = nextAttemptAt
            self.lastCode = lastCode
            self.lastEnhancedCode = lastEnhancedCode
            self.lastResponse = lastResponse
            self.lastRemoteHost = lastRemoteHost
            self.lastBounceClass = lastBounceClass
        }
    }

    /// Builds the initial state of an enqueued message (every recipient pending,
    /// due at `receivedAt`). Pure; any thread.
    public init(enqueue e: SpoolCommand.Enqueue) {
        queueID = e.queueID
        messageID = e.messageID
        tenant = e.tenant
        authUser = e.authUser
        clientIP = e.clientIP
        sender = e.sender
        receivedAt = e.receivedAt
        bodyType = e.bodyType
        flags = e.flags
        dsnEnvelopeID = e.dsnEnvelopeID
        dsnReturn = e.dsnReturn
        bodySize = e.bodyElided ? e.elidedBodySize : e.body.count
        recipients = e.recipients.map {
            RecipientState(address: $0.address, notify: $0.notify, originalRecipient: $0.originalRecipient,
                           status: .pending, nextAttemptAt: e.receivedAt)
        }
        attempts = 0
        lease = nil
    }

    /// When the spool should next look at this message: the lease expiry while
    /// a lease is recorded, else the earliest `nextAttemptAt` of a non-final
    /// recipient (nil when every recipient is final). Pure.
    public var nextAttemptAt: Int64? {
        if let lease { return lease.expiresAt }
        var next: Int64?
        for r in recipients where !r.status.isFinal {
            next = min(next ?? r.nextAttemptAt, r.nextAttemptAt)
        }
        return next
    }

    /// True when every recipient reached a final state.
    public var isComplete: Bool { recipients.allSatisfy { $0.status.isFinal } }
}
