import Registry
/// One state change of the spool, as it travels through the (replicated) log.
///
/// The spool is a deterministic state machine: applying the same committed
/// commands in the same order gives the same state on every node. Commands
/// therefore carry every time value they need (received time, lease issue
/// time, outcome time); applying never reads a clock. Binary encoding is in
/// `SpoolCommand+Codec.swift` and is versioned. Pure value; any thread.
public enum SpoolCommand: Sendable, Equatable {
    /// Accept a new message into the spool (the SMTP 250 waits for this to commit).
    case enqueue(Enqueue)
    /// Take (or renew) the delivery lease for one attempt of a message.
    case claim(Claim)
    /// Report the per-recipient result of a delivery attempt.
    case outcome(Outcome)
    /// Add an address to a tenant's suppression list.
    case suppress(Suppression)
    /// Remove an address from a tenant's suppression list.
    case unsuppress(tenant: String, address: String)
    /// Remove a message from the queue (operator action); pending recipients get `failed` events.
    case delete(Delete)
    /// Make a message's waiting recipients due at a given time (operator "retry now").
    case reschedule(Reschedule)
    /// Record a recipient's spam complaint (feedback loop report) as a
    /// `complained` event, optionally suppressing the address for the tenant.
    case complaint(Complaint)
    /// Record a bounce that arrived after delivery (DSN to the VERP address) as a `bounced` or
    /// `deferred` event, optionally suppressing the address (`SpoolCommand+AsyncBounce.swift`).
    case asyncBounce(AsyncBounce)
    /// Delete events older than a cutoff (event retention), a bounded number per command.
    case pruneEvents(PruneEvents)
    /// A control-plane change (sending domains, tenants …), applied by `RegistryMachine`.
    case registry(RegistryCommand)
    /// Move the due time of many messages of down destinations later (`SpoolCommand+Postpone.swift`).
    case postpone(Postpone)
    /// Make many postponed messages due now (a recovery pull, `SpoolCommand+PullForward.swift`).
    case pullForward(PullForward)

    /// The queue ID the command is about, or nil for suppression changes.
    public var queueID: String? {
        switch self {
        case .enqueue(let e): return e.queueID
        case .claim(let c): return c.queueID
        case .outcome(let o): return o.queueID
        case .delete(let d): return d.queueID
        case .reschedule(let r): return r.queueID
        case .suppress, .unsuppress, .pruneEvents, .complaint, .asyncBounce, .registry, .postpone, .pullForward: return nil
        }
    }

    /// Rough size in bytes, used to bound a group-commit batch.
    public var approximateSize: Int {
        switch self {
        case .enqueue(let e): return e.body.count + 256 + e.recipients.count * 64
        case .outcome(let o): return 128 + o.results.count * 160
        case .postpone(let p): return 32 + p.items.count * 40
        case .pullForward(let p): return 32 + p.items.count * 40
        default: return 128
        }
    }

    /// A message submitted for relay: envelope, metadata and the message bytes.
    public struct Enqueue: Sendable, Equatable {
        /// The spool's ID for the message (unique in the spool, ≤ 255 UTF-8 bytes).
        public var queueID: String
        /// The message's `Message-ID` header value (without angle brackets), or "".
        public var messageID: String
        /// Tenant owning the submission ("" when none).
        public var tenant: String
        /// Authenticated user, "" for unauthenticated relay.
        public var authUser: String
        /// Client IP address as text.
        public var clientIP: String
        /// Reverse path (MAIL FROM); "" is the null sender `<>`.
        public var sender: String
        /// Forward paths with their DSN parameters.
        public var recipients: [Recipient]
        /// When the message was received, milliseconds since the Unix epoch.
        public var receivedAt: Int64
        /// BODY= parameter.
        public var bodyType: BodyType
        /// Other MAIL FROM / session properties.
        public var flags: Flags
        /// DSN ENVID, "" when absent.
        public var dsnEnvelopeID: String
        /// DSN RET parameter.
        public var dsnReturn: DSNReturn
        /// The message bytes as received (CRLF line endings, dot-unstuffed).
        /// Empty when decoded from a log record that elided the body (see ``bodyElided``).
        public var body: [UInt8]
        /// True when this value came from a log record written without the body;
        /// `body` is then empty and `elidedBodySize` holds the original size.
        public var bodyElided: Bool
        /// The body size recorded when the body was elided, else `body.count`.
        public var elidedBodySize: Int

        /// Creates an enqueue command. Any thread.
        public init(queueID: String, messageID: String = "", tenant: String = "", authUser: String = "",
                    clientIP: String = "", sender: String, recipients: [Recipient], receivedAt: Int64,
                    bodyType: BodyType = .sevenBit, flags: Flags = [], dsnEnvelopeID: String = "",
                    dsnReturn: DSNReturn = .unspecified, body: [UInt8]) {
            self.queueID = queueID
            self.messageID = messageID
            self.tenant = tenant
            self.authUser = authUser
            self.clientIP = clientIP
            self.sender = sender
            self.recipients = recipients
            self.receivedAt = receivedAt
            self.bodyType = bodyType
            self.flags = flags
            self.dsnEnvelopeID = dsnEnvelopeID
            self.dsnReturn = dsnReturn
            self.body = body
            self.bodyElided = false
            self.elidedBodySize = body.count
        }
    }

    /// One forward path of an enqueued message.
    public struct Recipient: Sendable, Equatable {
        /// The address as given in RCPT TO (without angle brackets).
        public var address: String
        /// DSN NOTIFY conditions.
        public var notify: Notify
        /// DSN ORCPT value ("" when absent), e.g. `rfc822;user@example.org`.
        public var originalRecipient: String

        /// Creates a recipient. Any thread.
        public init(address: String, notify: Notify = [], originalRecipient: String = "") {
            self.address = address
            self.notify = notify
            self.originalRecipient = originalRecipient
        }
    }

    /// DSN NOTIFY flags (RFC 3461); empty means "not given" (default behaviour).
    public struct Notify: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let never = Notify(rawValue: 1)
        public static let success = Notify(rawValue: 2)
        public static let failure = Notify(rawValue: 4)
        public static let delay = Notify(rawValue: 8)
    }

    /// MAIL FROM BODY= value.
    public enum BodyType: UInt8, Sendable {
        case sevenBit = 0, eightBitMIME = 1, binaryMIME = 2
    }

    /// DSN RET value.
    public enum DSNReturn: UInt8, Sendable {
        case unspecified = 0, full = 1, headers = 2
    }

    /// Message properties carried as bits.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// SMTPUTF8 was given on MAIL FROM.
        public static let smtpUTF8 = Flags(rawValue: 1)
        /// REQUIRETLS (RFC 8689) was requested.
        public static let requireTLS = Flags(rawValue: 2)
        /// The message arrived over TLS.
        public static let receivedOverTLS = Flags(rawValue: 4)
        /// The message is a bounce / DSN generated by this relay.
        public static let isBounce = Flags(rawValue: 8)
    }

    /// A delivery lease: `owner` may attempt delivery `attempt` until `expiresAt`.
    ///
    /// Accepted when the message exists, some recipient is due at `issuedAt` (or
    /// a recorded lease expired), no other owner holds an unexpired lease, and
    /// `attempt` is the next attempt number. The owner of an unexpired lease may
    /// also renew it (same attempt) or supersede it (next attempt; the old
    /// attempt's outcome then counts as stale).
    public struct Claim: Sendable, Equatable {
        public var queueID: String
        /// Node ID taking the lease.
        public var owner: String
        /// Attempt number, starting at 1.
        public var attempt: UInt32
        /// The proposer's clock when proposing, ms since epoch (the state machine's "now").
        public var issuedAt: Int64
        /// Lease end, ms since epoch; after it another node may claim.
        public var expiresAt: Int64
        /// The owner's process incarnation (random per start; 0 = unknown, from an older format).
        /// A lease of an earlier incarnation of the same node belongs to a process that is gone.
        public var incarnation: UInt64

        /// Creates a claim. Any thread.
        public init(queueID: String, owner: String, attempt: UInt32, issuedAt: Int64, expiresAt: Int64,
                    incarnation: UInt64 = 0) {
            self.queueID = queueID
            self.owner = owner
            self.attempt = attempt
            self.issuedAt = issuedAt
            self.expiresAt = expiresAt
            self.incarnation = incarnation
        }
    }

    /// Results of delivery attempt `attempt`. Rejected as stale unless `attempt`
    /// is the message's current leased attempt. Releases the lease.
    public struct Outcome: Sendable, Equatable {
        public var queueID: String
        public var attempt: UInt32
        /// When the attempt finished, ms since epoch (event timestamp).
        public var timestamp: Int64
        /// One result per recipient tried; recipients not listed keep their state.
        public var results: [RecipientResult]

        /// Creates an outcome. Any thread.
        public init(queueID: String, attempt: UInt32, timestamp: Int64, results: [RecipientResult]) {
            self.queueID = queueID
            self.attempt = attempt
            self.timestamp = timestamp
            self.results = results
        }
    }

    /// The result of one attempt for one recipient.
    public struct RecipientResult: Sendable, Equatable {
        /// Recipient address exactly as enqueued (matched ASCII case-insensitively).
        public var recipient: String
        public var disposition: Disposition
        /// SMTP reply code (0 when none, e.g. connection failure).
        public var smtpCode: UInt16
        /// RFC 3463 enhanced status code, "" when none.
        public var enhancedCode: String
        /// Reply text or a local explanation.
        public var response: String
        /// Remote host that answered, "" when none.
        public var remoteHost: String
        /// Bounce classification (e.g. `bad-mailbox`), "" when not a failure.
        public var bounceClass: String
        /// Local source address the attempt sent from, "" when unknown (kernel's choice, no connection).
        public var sendingIP: String = ""
        /// Source pool the attempt used, "" when none (no route).
        public var pool: String = ""

        /// Creates a recipient result. Any thread.
        public init(recipient: String, disposition: Disposition, smtpCode: UInt16 = 0, enhancedCode: String = "",
                    response: String = "", remoteHost: String = "", bounceClass: String = "",
                    sendingIP: String = "", pool: String = "") {
            self.recipient = recipient
            self.disposition = disposition
            self.smtpCode = smtpCode
            self.enhancedCode = enhancedCode
            self.response = response
            self.remoteHost = remoteHost
            self.bounceClass = bounceClass
            self.sendingIP = sendingIP
            self.pool = pool
        }
    }

    /// What happened to one recipient in one attempt.
    public enum Disposition: Sendable, Equatable {
        /// Accepted by the remote server: final.
        case delivered
        /// Temporary failure: try again at `until` (ms since epoch).
        case deferred(until: Int64)
        /// Permanent failure: final.
        case bounced
        /// Not attempted because the address is suppressed: final.
        case suppressed
    }

    /// An entry of a tenant's suppression list.
    public struct Suppression: Sendable, Equatable {
        public var tenant: String
        /// Address, stored ASCII-lowercased.
        public var address: String
        /// Why (e.g. `hard-bounce`, `complaint`, `manual`).
        public var reason: String
        /// When added, ms since epoch.
        public var createdAt: Int64

        /// Creates a suppression entry. Any thread.
        public init(tenant: String, address: String, reason: String, createdAt: Int64) {
            self.tenant = tenant
            self.address = address
            self.reason = reason
            self.createdAt = createdAt
        }
    }

    /// Operator removal of a queued message.
    public struct Delete: Sendable, Equatable {
        public var queueID: String
        /// Recorded as the `response` of the `failed` events.
        public var reason: String
        /// Event timestamp, ms since epoch.
        public var timestamp: Int64

        /// Creates a delete command. Any thread.
        public init(queueID: String, reason: String, timestamp: Int64) {
            self.queueID = queueID
            self.reason = reason
            self.timestamp = timestamp
        }
    }

    /// A complaint about a message already sent (usually no longer queued, so
    /// the event's fields come from the report). Recorded as a `complained`
    /// event; with `suppress` the recipient is also added to the tenant's
    /// suppression list with reason `complaint`.
    public struct Complaint: Sendable, Equatable {
        public var tenant: String
        /// The complaining recipient.
        public var recipient: String
        /// The original envelope sender.
        public var sender: String
        /// The original message's Message-ID, "" when unknown.
        public var messageID: String
        /// The original queue ID, "" when unknown.
        public var queueID: String
        /// Feedback type or report summary (event `response`).
        public var feedback: String
        /// When the complaint was received, ms since epoch.
        public var timestamp: Int64
        /// Also suppress the recipient for the tenant.
        public var suppress: Bool

        /// Creates a complaint. Any thread.
        public init(tenant: String, recipient: String, sender: String = "", messageID: String = "",
                    queueID: String = "", feedback: String = "abuse", timestamp: Int64, suppress: Bool = true) {
            self.tenant = tenant
            self.recipient = recipient
            self.sender = sender
            self.messageID = messageID
            self.queueID = queueID
            self.feedback = feedback
            self.timestamp = timestamp
            self.suppress = suppress
        }
    }

    /// Deletes up to `maxCount` of the oldest events with a timestamp before
    /// `before`. Propose it periodically (e.g. `before = now - retention`); if
    /// it hit `maxCount`, propose again.
    public struct PruneEvents: Sendable, Equatable {
        /// Cutoff, ms since epoch (exclusive).
        public var before: Int64
        /// Most events deleted by one command, keeping the transaction small.
        public var maxCount: UInt32
        /// Only this tenant's events (per-tenant retention); nil: every event and the event
        /// counts older than `before`.
        public var tenant: String?

        /// Creates a prune command. Any thread.
        public init(before: Int64, maxCount: UInt32 = 10_000, tenant: String? = nil) {
            self.before = before
            self.maxCount = maxCount
            self.tenant = tenant
        }
    }

    /// Makes every non-final recipient due at `at`.
    public struct Reschedule: Sendable, Equatable {
        public var queueID: String
        /// New due time, ms since epoch.
        public var at: Int64

        /// Creates a reschedule command. Any thread.
        public init(queueID: String, at: Int64) {
            self.queueID = queueID
            self.at = at
        }
    }
}
