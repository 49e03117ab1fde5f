/// A tenant's webhook endpoint: where its events are POSTed, which event types it wants, the
/// signing secrets, and its delivery state. A record of the replicated control plane: identical
/// on every node. Pure value; any thread.
public struct WebhookEndpoint: Codable, Sendable, Equatable {
    /// One signing secret. During a rotation the old secret keeps signing until `expiresAt`.
    public struct Secret: Codable, Sendable, Equatable {
        /// `whsec_` + base64 of 24-64 random bytes (Standard Webhooks).
        public var value: String
        /// ms since the epoch after which this secret no longer signs (nil: current secret).
        public var expiresAt: Int64?

        /// Creates a secret. Any thread.
        public init(value: String, expiresAt: Int64? = nil) {
            self.value = value
            self.expiresAt = expiresAt
        }
    }

    /// `ep_…`, chosen by the node that created it.
    public var id: String
    /// The tenant whose events are sent; `*`: every tenant's (an operator endpoint, also for mail
    /// relayed without a tenant).
    public var tenant: String
    /// `http://` or `https://` URL.
    public var url: String
    /// Event types delivered (`accepted`, `delivered`, … `domain.verified`); empty: every type.
    public var events: [String]
    /// Newest first: the current secret, then older ones still inside their grace period.
    public var secrets: [Secret]
    /// Calls in flight at once.
    public var maxConcurrency: Int
    /// Calls started per second (0: unlimited).
    public var ratePerSecond: Int
    /// Operator pause: events are still recorded (kept for later), nothing is sent.
    public var paused: Bool
    /// Set when the receiver answered 410 Gone; nothing is sent until resumed (events are still
    /// recorded: a resume sends them, a delete drops them).
    public var disabled: Bool
    /// A call used up the retry schedule: the endpoint is failing (calls continue; the failed
    /// ones wait for a replay).
    public var failing: Bool
    /// Why the endpoint is disabled or failing.
    public var statusReason: String
    public var createdAt: Int64
    public var updatedAt: Int64
    /// Calls that failed in a row (reset by a success).
    public var consecutiveFailures: Int
    public var lastSuccessAt: Int64?
    public var lastFailureAt: Int64?
    /// Most events in one POST for this endpoint; nil: `webhooks.batch.maxEvents` of the sending
    /// node's config. 1: every event alone (a JSON object body).
    public var batchMaxEvents: Int?

    /// Creates an endpoint record. Any thread.
    public init(id: String, tenant: String, url: String, events: [String] = [], secret: String,
                maxConcurrency: Int = 4, ratePerSecond: Int = 0, createdAt: Int64) {
        self.id = id
        self.tenant = tenant
        self.url = url
        self.events = events
        self.secrets = [Secret(value: secret)]
        self.maxConcurrency = maxConcurrency
        self.ratePerSecond = ratePerSecond
        self.paused = false
        self.disabled = false
        self.failing = false
        self.statusReason = ""
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.consecutiveFailures = 0
        self.lastSuccessAt = nil
        self.lastFailureAt = nil
    }

    /// True when an event of `type` for `tenant` is recorded for this endpoint (also while it is
    /// paused or disabled: nothing is lost before the operator deletes it).
    public func wants(type: String, tenant eventTenant: String) -> Bool {
        route.wants(type: type, tenant: eventTenant)
    }

    /// The secrets that sign a call sent at `now` (the current one and those in their grace period).
    public func signingSecrets(at now: Int64) -> [String] {
        secrets.filter { ($0.expiresAt ?? .max) > now }.map(\.value)
    }

    /// `active`, `paused`, `disabled` or `failing`.
    public var status: String {
        if disabled { return "disabled" }
        if paused { return "paused" }
        return failing ? "failing" : "active"
    }
}
