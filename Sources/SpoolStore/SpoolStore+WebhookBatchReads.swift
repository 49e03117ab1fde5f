import Registry

extension SpoolStore {
    /// What batch lease or batch results `w` reads (`WebhookBatchReads`), read inside `txn`
    /// straight from the stored bytes: the keys `w.keys` names, in that order, as byte keys, and
    /// a pending call's header fields from its binary layout (a call this build would not lay out
    /// is decoded whole, as before). A record that does not decode fails the command as the
    /// record-by-record read does (`.corrupt`, naming the first such key). Nil for other commands.
    func webhookBatchReads(_ w: WebhookCommand, in txn: LMDBTransaction) throws -> Result<WebhookBatchReads, StoreError>? {
        let id = w.endpointID
        var reads = WebhookBatchReads()
        func corrupt(_ key: String, _ error: any Error) -> StoreError {
            StoreError(.corrupt, "registry record \(key): \(error)", context: key)
        }
        let endpointKey = RegistryKeys.webhook(id)
        if let v = try txn.get(dbRegistry, Array(endpointKey.utf8)) {
            do { reads.endpoint = try Self.registryRecord(key: endpointKey, stored: v).webhookEndpoint } catch {
                return .failure(corrupt(endpointKey, error))
            }
        }
        // A record read whole; nil when absent.
        func record(_ key: String) throws -> Result<RegistryRecord, StoreError>? {
            guard let v = try txn.get(dbRegistry, Array(key.utf8)) else { return nil }
            do { return .success(try RegistryRecord(decoding: v)) } catch { return .failure(corrupt(key, error)) }
        }
        func batch(_ first: UInt64) throws -> StoreError? {
            switch try record(RegistryKeys.webhookBatch(id, first)) {
            case .failure(let e): return e
            case .success(let r): if let b = r.webhookBatch { reads.batches[first] = b }
            case nil: break
            }
            return nil
        }
        var callKey = SequenceKeyBuffer(head: "hookcall/", endpoint: id)
        let withIDs: Bool
        if case .leaseBatches = w { withIDs = true } else { withIDs = false }
        func call(_ seq: UInt64) throws -> StoreError? {
            callKey.set(seq)
            guard let v = try txn.get(dbRegistry, callKey.bytes) else { return nil }
            if let l = WebhookCall.binaryLayout(v) {
                reads.calls[seq] = WebhookBatchReads.CallHead(head: v, layout: l, withID: withIDs)
                return nil
            }
            let key = RegistryKeys.webhookPending(id, seq)
            do {
                if let c = try RegistryRecord(decoding: v).webhookCall { reads.calls[seq] = WebhookBatchReads.CallHead(c) }
            } catch {
                return corrupt(key, error)
            }
            return nil
        }
        switch w {
        case .leaseBatches(let l):
            switch try record(RegistryKeys.webhookMark(id)) {
            case .failure(let e): return .failure(e)
            case .success(let r): reads.mark = r.webhookMark
            case nil: break
            }
            for first in l.formed { if let e = try batch(first) { return .failure(e) } }
            reads.calls.reserveCapacity(l.fresh.count)
            for seq in l.fresh { if let e = try call(seq) { return .failure(e) } }
            // Read for the same refusals as the record-by-record read (the machine does not look).
            for group in l.freshGroups ?? [] {
                if let first = group.first, let e = try batch(first) { return .failure(e) }
            }
        case .batchResults(let r):
            reads.calls.reserveCapacity(r.results.reduce(0) { $0 + $1.sequences.count })
            for x in r.results {
                if let e = try batch(x.first) { return .failure(e) }
                for seq in x.sequences { if let e = try call(seq) { return .failure(e) } }
            }
        default:
            return nil
        }
        return .success(reads)
    }
}
