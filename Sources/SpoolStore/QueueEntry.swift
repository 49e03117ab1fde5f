/// A summary row of the queue listing (``SpoolStore/queueEntries(limit:after:)``):
/// what an operator sees in `GET /v1/queue`. Pure value; any thread.
public struct QueueEntry: Sendable, Equatable {
    public var queueID: String
    /// The message's Message-ID header value.
    public var messageID: String
    public var tenant: String
    public var sender: String
    /// Each recipient with its current status.
    public var recipients: [Recipient]
    /// Body size in bytes.
    public var size: Int
    /// ms since epoch.
    public var receivedAt: Int64
    /// When the message is next due (lease expiry while leased), ms since epoch.
    public var nextAttemptAt: Int64?
    /// Attempts claimed so far.
    public var attempts: UInt32
    /// Owner of the recorded lease, if any.
    public var leaseOwner: String?

    /// One recipient of a queue entry.
    public struct Recipient: Sendable, Equatable {
        public var address: String
        public var status: StoredMessage.Status
    }

    /// Summarises a stored message. Pure; any thread.
    public init(_ m: StoredMessage) {
        queueID = m.queueID
        messageID = m.messageID
        tenant = m.tenant
        sender = m.sender
        recipients = m.recipients.map { Recipient(address: $0.address, status: $0.status) }
        size = m.bodySize
        receivedAt = m.receivedAt
        nextAttemptAt = m.nextAttemptAt
        attempts = m.attempts
        leaseOwner = m.lease?.owner
    }
}
