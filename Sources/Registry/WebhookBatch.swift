/// One POST's worth of outbox calls of one endpoint, leased and retired as a unit (log entry
/// format 5): the record a claim writes instead of rewriting every call it leases, and the one a
/// result updates or retires instead of every call's. The calls keep the records their event
/// wrote until the batch is retired (delivered or failed: each moves to the finished calls).
///
/// Stored under `hookbatch/<endpoint>/<first sequence>`; fixed in makeup and `webhook-id` from the
/// claim that formed it until it is retired, whatever the endpoint's batch size becomes later:
/// retries, and a takeover by another node after the lease expired, send the same calls under the
/// same id. Pure value; any thread.
public struct WebhookBatch: Codable, Sendable, Equatable {
    public var endpoint: String
    /// The calls, by sequence, ascending (the first one names the record).
    public var sequences: [UInt64]
    /// The `webhook-id` of the batch's POST (`WebhookOutbox.batchID` of its calls).
    public var id: String
    /// True: the body is a JSON array (one element per call); false: one call alone, sent as the
    /// event's JSON object (an endpoint with batches of one event).
    public var array: Bool
    /// Attempts made so far.
    public var attempts: UInt32
    /// Not before this time (ms since the epoch).
    public var nextAttemptAt: Int64
    /// The node allowed to send the current attempt until `lease.expiresAt`.
    public var lease: WebhookCall.Lease?
    /// The latest attempts, oldest first (at most `WebhookCall.maxHistory`).
    public var history: [WebhookCall.Attempt]

    /// Creates a batch that was never sent. Any thread.
    public init(endpoint: String, sequences: [UInt64], id: String, array: Bool, nextAttemptAt: Int64) {
        self.endpoint = endpoint
        self.sequences = sequences
        self.id = id
        self.array = array
        self.attempts = 0
        self.nextAttemptAt = nextAttemptAt
        self.lease = nil
        self.history = []
    }

    /// The first call's sequence (the record's key).
    public var first: UInt64 { sequences.first ?? 0 }

    /// True when no live lease holds the batch at `now` and it is due.
    public func isDue(at now: Int64) -> Bool {
        nextAttemptAt <= now && (lease.map { $0.expiresAt <= now } ?? true)
    }
}

extension RegistryKeys {
    /// `hookbatch/<id>/<first sequence, 20 digits>`: a formed batch of endpoint `id` (log entry format 5).
    public static func webhookBatch(_ id: String, _ first: UInt64) -> String { sequenceKey("hookbatch/", id, first) }
    /// The prefix of an endpoint's batch records.
    public static func webhookBatchPrefix(_ id: String) -> String { "hookbatch/" + id + "/" }
    /// `hookmark/<id>`: the highest sequence ever put in a batch record of endpoint `id`. A call
    /// joins a new batch only above it, so no call is ever in two batch records.
    public static func webhookMark(_ id: String) -> String { "hookmark/" + id }
}
