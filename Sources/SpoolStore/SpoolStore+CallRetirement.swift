import Registry

extension SpoolStore {
    /// Moves the pending calls of `r` to the finished calls inside `txn` (a batch result's
    /// `CallRetirement`): each finished record is the stored pending record with the retired
    /// fields written in (`WebhookCall.retiredRecord`: the event bytes copied once, not decoded
    /// and encoded again); a record this build would not write byte for byte the same way (JSON
    /// of an older build, strings that are not valid UTF-8) is decoded and encoded as before.
    /// The same bytes and tally either way.
    func retire(_ r: CallRetirement, in txn: LMDBTransaction) throws {
        let tail = WebhookCall.retiredTail(history: r.history, batch: r.batch)
        for seq in r.sequences {
            let pending = RegistryKeys.webhookPendingKey(r.endpoint, seq)
            let done = RegistryKeys.webhookDoneKey(r.endpoint, seq)
            // No pending record: an earlier result of this command retired the same call, and the
            // finished record it wrote has the same fields to copy.
            guard let stored = try txn.get(dbRegistry, pending) ?? txn.get(dbRegistry, done) else { continue }
            let record: [UInt8]
            if let l = WebhookCall.binaryLayout(stored), l.stringsAreValidUTF8 {
                record = WebhookCall.retiredRecord(stored, layout: l, status: r.status, attempts: r.attempts,
                                                   batched: r.batch != nil, tail: tail)
            } else {
                // The command's read decoded this record, so it decodes.
                guard let call = try RegistryRecord(decoding: stored).webhookCall else { continue }
                record = RegistryRecord.webhookCall(r.finished(call)).encoded()
            }
            try tallyWebhookWrite(key: pending, value: nil, in: txn)
            _ = try txn.delete(dbRegistry, pending)
            try tallyWebhookWrite(key: done, value: record, in: txn)
            try txn.put(dbRegistry, done, record)
        }
    }

    /// Whether `command` reads only the header fields of the pending calls it names (batch
    /// leases and results): those are read without their event records (`WebhookCall(head:)`).
    static func readsCallHeads(_ command: RegistryCommand) -> Bool {
        guard case .webhook(let w) = command else { return false }
        switch w {
        case .leaseBatches, .batchResults: return true
        default: return false
        }
    }
}
