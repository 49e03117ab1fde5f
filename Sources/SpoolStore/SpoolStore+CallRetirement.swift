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
        let finished: WebhookTally.Counts = r.status == .failed ? .init(failed: 1) : .init(delivered: 1)
        // One buffer for every key: `hookcall/` and `hookdone/` have the same length.
        var key = SequenceKeyBuffer(head: "hookcall/", endpoint: r.endpoint)
        // One cursor on the pending calls and one on the finished ones: each stays on its page
        // from one call to the next.
        let pendingCursor = try txn.cursor(dbRegistry)
        defer { pendingCursor.close() }
        let doneCursor = try txn.cursor(dbRegistry)
        defer { doneCursor.close() }
        for seq in r.sequences {
            key.set(seq)
            key.setHead("hookcall/")
            let record: [UInt8]
            if let stored = try pendingCursor.find(key.bytes) {
                guard let made = try Self.retiredRecord(stored, r, tail: tail) else { continue }
                record = made
                try pendingCursor.deleteCurrent()
                delta.pending -= 1
                key.setHead("hookdone/")
                // Usually no finished record yet: one put that reports one already there.
                if let old = try doneCursor.putIfAbsent(key.bytes, record) {
                    if Self.isFailedCall(old) { delta.failed -= 1 } else { delta.delivered -= 1 }
                    try txn.put(dbRegistry, key.bytes, record)
                }
            } else {
                // No pending record: an earlier result of this command retired the same call, and the
                // finished record it wrote has the same fields to copy.
                key.setHead("hookdone/")
                guard let stored = try txn.get(dbRegistry, key.bytes),
                      let made = try Self.retiredRecord(stored, r, tail: tail) else { continue }
                record = made
                if Self.isFailedCall(stored) { delta.failed -= 1 } else { delta.delivered -= 1 }
                try txn.put(dbRegistry, key.bytes, record)
            }
            delta = delta + finished
        }
        if !delta.isZero { webhookTally.stage(r.endpoint, delta) }
    }

    /// The finished record of the call stored as `stored` retired by `r` (`tail`: its
    /// `retiredTail`): the stored bytes with the retired fields written in, or for a record this
    /// build would not write byte for byte the same way, decoded and encoded again; nil when it
    /// is not a call.
    private static func retiredRecord(_ stored: UnsafeRawBufferPointer, _ r: CallRetirement, tail: [UInt8]) throws -> [UInt8]? {
        if let l = WebhookCall.binaryLayout(stored), l.stringsAreValidUTF8 {
            return WebhookCall.retiredRecord(stored, layout: l, status: r.status, attempts: r.attempts,
                                             batched: r.batch != nil, tail: tail)
        }
        // The command's read decoded this record, so it decodes.
        guard let call = try RegistryRecord(decoding: stored).webhookCall else { return nil }
        return RegistryRecord.webhookCall(r.finished(call)).encoded()
    }
}
