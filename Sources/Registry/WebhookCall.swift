/// One event to deliver to one webhook endpoint: an outbox entry written deterministically when
/// the event is recorded, then leased, attempted and finished through the log. Pure value; any
/// thread.
public struct WebhookCall: Codable, Sendable, Equatable {
    /// Where the call stands.
    public enum Status: String, Codable, Sendable, Equatable {
        /// Waiting to be sent (or to be retried at `nextAttemptAt`).
        case pending
        /// A 2xx answer was recorded.
        case delivered
        /// The retry schedule was used up; kept for a replay.
        case failed
    }

    /// The node allowed to send the call's current attempt until `expiresAt`.
    public struct Lease: Codable, Sendable, Equatable {
        public var owner: String
        public var incarnation: UInt64
        public var attempt: UInt32
        public var expiresAt: Int64

        /// Creates a lease. Any thread.
        public init(owner: String, incarnation: UInt64, attempt: UInt32, expiresAt: Int64) {
            self.owner = owner
            self.incarnation = incarnation
            self.attempt = attempt
            self.expiresAt = expiresAt
        }
    }

    /// One HTTP attempt as the API shows it.
    public struct Attempt: Codable, Sendable, Equatable {
        public var attempt: UInt32
        /// When it finished, ms since the epoch.
        public var at: Int64
        /// HTTP status, 0 when there was no answer (refused, timeout, SSRF refusal).
        public var status: Int
        public var latencyMillis: Int64
        /// The start of the answer's body, or the local error.
        public var response: String
        public var node: String

        /// Creates an attempt record. Any thread.
        public init(attempt: UInt32, at: Int64, status: Int, latencyMillis: Int64, response: String, node: String) {
            self.attempt = attempt
            self.at = at
            self.status = status
            self.latencyMillis = latencyMillis
            self.response = response
            self.node = node
        }
    }

    public var endpoint: String
    /// Orders calls: `(log index << 16) | ordinal` of the event, so it grows with every event of
    /// a message (and of the whole log); sent as the body's `sequence`.
    public var sequence: UInt64
    /// `webhook-id`: the same on every retry and replay (receivers dedupe on it).
    public var webhookID: String
    public var eventType: String
    /// The event's time, ms since the epoch.
    public var createdAt: Int64
    /// The JSON body sent, when it was rendered when the event was recorded (older records);
    /// empty when `eventRecord` holds the event (the body is rendered at send time).
    public var payload: String
    /// The event as the spool stores it (its binary record), from which the body is rendered at
    /// send time: recording an event then costs no JSON. Nil for calls with a rendered `payload`.
    public var eventRecord: [UInt8]?
    public var status: Status
    /// Attempts made so far.
    public var attempts: UInt32
    /// Not before this time (ms since the epoch).
    public var nextAttemptAt: Int64
    public var lease: Lease?
    /// The latest attempts, oldest first (at most `maxHistory`).
    public var history: [Attempt]
    /// The batch (one POST carrying several events) this call was put in by the claim that first
    /// leased it; nil for a call sent alone. Fixed until a replay: retries, and a takeover by
    /// another node, send the same batch with the same `webhook-id`.
    public var batch: Batch?

    /// One POST's worth of calls of one endpoint: its `webhook-id` and how many calls it holds.
    public struct Batch: Codable, Sendable, Equatable {
        /// The `webhook-id` header of the batch's POST (for a batch of one, the call's own id).
        public var id: String
        /// Calls in the batch.
        public var size: UInt32

        /// Creates a batch reference. Any thread.
        public init(id: String, size: UInt32) {
            self.id = id
            self.size = size
        }
    }

    /// Attempts kept per call.
    public static let maxHistory = 12

    /// Creates a pending call. Any thread.
    public init(endpoint: String, sequence: UInt64, webhookID: String, eventType: String, createdAt: Int64,
                payload: String) {
        self.endpoint = endpoint
        self.sequence = sequence
        self.webhookID = webhookID
        self.eventType = eventType
        self.createdAt = createdAt
        self.payload = payload
        self.status = .pending
        self.attempts = 0
        self.nextAttemptAt = 0
        self.lease = nil
        self.history = []
        self.batch = nil
    }
}
