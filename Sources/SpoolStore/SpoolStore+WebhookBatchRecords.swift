import CLMDB
import Registry

extension SpoolStore {
    /// Every batch record of endpoint `id` (log entry format 5), oldest first. Any thread; a read
    /// transaction.
    public func webhookBatches(_ id: String) throws -> [WebhookBatch] {
        try registryRecords(prefix: RegistryKeys.webhookBatchPrefix(id)).compactMap(\.webhookBatch)
    }

    /// The batch record of endpoint `id` whose first call is `first`, or nil. Any thread.
    public func webhookBatch(_ id: String, first: UInt64) throws -> WebhookBatch? {
        try registryRecord(RegistryKeys.webhookBatch(id, first))?.webhookBatch
    }

    /// The highest sequence ever put in a batch record of endpoint `id` (nil: none yet). Any thread.
    public func webhookBatchMark(_ id: String) throws -> UInt64? {
        try registryRecord(RegistryKeys.webhookMark(id))?.webhookMark
    }

    /// The pending calls `sequences` of endpoint `id` that exist, in the given order. Any thread;
    /// one read transaction.
    public func pendingWebhookCalls(_ id: String, sequences: [UInt64]) throws -> [WebhookCall] {
        try read { txn in
            try sequences.compactMap { seq in
                guard let v = try txn.get(dbRegistry, Array(RegistryKeys.webhookPending(id, seq).utf8)) else { return nil }
                return try RegistryRecord(decoding: UnsafeRawBufferPointer(v)).webhookCall
            }
        }
    }

    /// `calls` (pending calls of endpoint `id`) as the API shows them: a call in a batch record
    /// gets the batch's attempts, history, lease and id, which its own record does not hold.
    func withBatchRecords(_ calls: [WebhookCall], endpoint id: String) throws -> [WebhookCall] {
        let batches = try webhookBatches(id)
        guard !batches.isEmpty else { return calls }
        var bySequence: [UInt64: WebhookBatch] = [:]
        for b in batches { for s in b.sequences { bySequence[s] = b } }
        return calls.map { c in
            guard let b = bySequence[c.sequence] else { return c }
            var c = c
            c.attempts = b.attempts
            c.history = b.history
            c.lease = b.lease
            c.nextAttemptAt = b.nextAttemptAt
            c.batch = b.array ? WebhookCall.Batch(id: b.id, size: UInt32(b.sequences.count)) : nil
            return c
        }
    }
}
