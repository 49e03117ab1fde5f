/// The records a batch lease or batch results command (log entry format 5) reads, by what they
/// are rather than by key: the endpoint, its batch mark, the batch records named (by first
/// sequence) and the header fields of the pending calls named (by sequence). The store reads them
/// straight from the stored bytes (no string key, no decoded call); `init(command:current:)` takes
/// them from records by key, for the machine's `apply(_:current:)`. Pure value; any thread.
public struct WebhookBatchReads: Sendable, Equatable {
    /// The header fields of a pending call that a batch lease looks at (a batch result looks only
    /// at which calls are pending).
    public struct CallHead: Sendable, Equatable {
        public var sequence: UInt64
        /// The call's `webhook-id`; empty when read for batch results, which do not use it.
        public var webhookID: String
        public var status: WebhookCall.Status
        public var attempts: UInt32
        public var nextAttemptAt: Int64
        public var lease: WebhookCall.Lease?
        public var batch: WebhookCall.Batch?

        /// Creates a call head. Any thread.
        public init(sequence: UInt64, webhookID: String, status: WebhookCall.Status, attempts: UInt32,
                    nextAttemptAt: Int64, lease: WebhookCall.Lease?, batch: WebhookCall.Batch?) {
            self.sequence = sequence
            self.webhookID = webhookID
            self.status = status
            self.attempts = attempts
            self.nextAttemptAt = nextAttemptAt
            self.lease = lease
            self.batch = batch
        }

        /// The head of the call stored as `bytes` (laid out as `layout`), read in place: the fields
        /// `init(binary:)` decodes; the webhook id only `withID` (else empty).
        public init(head bytes: UnsafeRawBufferPointer, layout l: WebhookCall.BinaryLayout, withID: Bool) {
            let webhookID = withID ? String(decoding: UnsafeRawBufferPointer(rebasing: bytes[l.webhookID]), as: UTF8.self) : ""
            self.init(sequence: l.sequence, webhookID: webhookID, status: l.status, attempts: l.attempts,
                      nextAttemptAt: l.nextAttemptAt, lease: l.lease, batch: l.batch)
        }

        /// The head of `call`.
        public init(_ call: WebhookCall) {
            self.init(sequence: call.sequence, webhookID: call.webhookID, status: call.status, attempts: call.attempts,
                      nextAttemptAt: call.nextAttemptAt, lease: call.lease, batch: call.batch)
        }
    }

    public var endpoint: WebhookEndpoint?
    public var mark: UInt64?
    /// Batch records found, by first sequence.
    public var batches: [UInt64: WebhookBatch]
    /// Pending calls found, by sequence.
    public var calls: [UInt64: CallHead]

    /// Reads with nothing found yet. Any thread.
    public init(endpoint: WebhookEndpoint? = nil, mark: UInt64? = nil, batches: [UInt64: WebhookBatch] = [:],
                calls: [UInt64: CallHead] = [:]) {
        self.endpoint = endpoint
        self.mark = mark
        self.batches = batches
        self.calls = calls
    }

    /// The reads of `command` (a batch lease or batch results; empty for others) found in
    /// `current` (records by key, as `WebhookCommand.keys` names them).
    public init(command: WebhookCommand, current: [String: RegistryRecord]) {
        let id = command.endpointID
        self.init(endpoint: current[RegistryKeys.webhook(id)]?.webhookEndpoint)
        func batch(_ first: UInt64) {
            if let b = current[RegistryKeys.webhookBatch(id, first)]?.webhookBatch { batches[first] = b }
        }
        func call(_ seq: UInt64) {
            if let c = current[RegistryKeys.webhookPending(id, seq)]?.webhookCall { calls[seq] = CallHead(c) }
        }
        switch command {
        case .leaseBatches(let l):
            mark = current[RegistryKeys.webhookMark(id)]?.webhookMark
            l.formed.forEach(batch)
            l.fresh.forEach(call)
        case .batchResults(let r):
            for x in r.results {
                batch(x.first)
                x.sequences.forEach(call)
            }
        default:
            break
        }
    }
}
