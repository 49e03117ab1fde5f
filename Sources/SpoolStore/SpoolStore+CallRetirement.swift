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
        // The tally's change, as `tallyWebhookWrite` would stage it for each delete and put.
        var delta = WebhookTally.Counts()
        for seq in r.sequences {
            let pending = RegistryKeys.webhookPendingKey(r.endpoint, seq)
            let done = RegistryKeys.webhookDoneKey(r.endpoint, seq)
            // No pending record: an earlier result of this command retired the same call, and the
            // finished record it wrote has the same fields to copy.
            let pendingStored = try txn.get(dbRegistry, pending), doneStored = try txn.get(dbRegistry, done)
            guard let stored = pendingStored ?? doneStored else { continue }
            let record: [UInt8]
            if let l = WebhookCall.binaryLayout(stored), l.stringsAreValidUTF8 {
                record = WebhookCall.retiredRecord(stored, layout: l, status: r.status, attempts: r.attempts,
                                                   batched: r.batch != nil, tail: tail)
            } else {
                // The command's read decoded this record, so it decodes.
                guard let call = try RegistryRecord(decoding: stored).webhookCall else { continue }
                record = RegistryRecord.webhookCall(r.finished(call)).encoded()
            }
            if pendingStored != nil { delta.pending -= 1 }
            if let doneStored {
                if Self.isFailedCall(doneStored) { delta.failed -= 1 } else { delta.delivered -= 1 }
            }
            if r.status == .failed { delta.failed += 1 } else { delta.delivered += 1 }
            _ = try txn.delete(dbRegistry, pending)
            try txn.put(dbRegistry, done, record)
        }
        if !delta.isZero { webhookTally.stage(r.endpoint, delta) }
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
