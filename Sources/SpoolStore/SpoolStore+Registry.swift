import CLMDB
import Registry

extension SpoolStore {
    /// Applies a control-plane command inside `txn`: reads the records it names (batch leases and
    /// results read only what they use: `webhookBatchReads`), runs `RegistryMachine`, writes
    /// its changes, moves the calls it retires and records its notices as events (`sender` holds
    /// the domain, `response` the reason). Throws only for storage failures.
    ///
    /// `byRecords`: every record decoded whole and retired calls encoded again (the way before
    /// `CallRetirement`), kept as the oracle of the tests that compare the stored bytes.
    func applyRegistry(_ command: RegistryCommand, index: UInt64, in txn: LMDBTransaction,
                       byRecords: Bool = false) throws -> Result<Void, StoreError> {
        let t: RegistryMachine.Transition
        var current: [String: RegistryRecord] = [:]
        if !byRecords, case .webhook(let w) = command, let read = try webhookBatchReads(w, in: txn) {
            switch read {
            case .failure(let error): return .failure(error)
            case .success(let reads):
                t = switch w {
                case .leaseBatches(let l): RegistryMachine.applyBatchLease(l, reads: reads)
                case .batchResults(let r): RegistryMachine.applyBatchResults(r, reads: reads)
                default: preconditionFailure("webhookBatchReads reads batch commands only")
                }
                if let rejection = t.rejection {
                    return .failure(StoreError(.invalidCommand, rejection, context: RegistryKeys.webhook(w.endpointID)))
                }
            }
        } else {
            let keys = command.keys
            current.reserveCapacity(keys.count)
            for key in keys {
                guard let v = try txn.get(dbRegistry, Array(key.utf8)) else { continue }
                do {
                    current[key] = try Self.registryRecord(key: key, stored: v)
                } catch {
                    return .failure(StoreError(.corrupt, "registry record \(key): \(error)", context: key))
                }
            }
            do {
                current.merge(try batchRecordsCovering(command, in: txn)) { a, _ in a }
            } catch let error as StoreError where error.code == .corrupt {
                return .failure(error)
            }
            t = RegistryMachine.apply(command, current: current)
            if let rejection = t.rejection { return .failure(StoreError(.invalidCommand, rejection, context: keys.first ?? "")) }
        }
        for (key, record) in byRecords ? t.allWrites(current: current) : t.writes {
            let k = Array(key.utf8)
            if let record {
                let v = record.encoded()
                try tallyWebhookWrite(key: k, value: v, in: txn)
                try txn.put(dbRegistry, k, v)
            } else {
                try tallyWebhookWrite(key: k, value: nil, in: txn)
                try txn.delete(dbRegistry, k)
            }
        }
        if !byRecords { for r in t.retirements { try retire(r, in: txn) } }
        try afterRegistry(command, in: txn)
        try bumpWebhookRoutes(after: command, index: index, in: txn)
        for (ordinal, notice) in t.notices.enumerated() {
            let kind: Event.Kind = switch notice.kind {
            case .domainAdded: .domainAdded
            case .domainVerified: .domainVerified
            case .domainFailing: .domainFailing
            case .domainRemoved: .domainRemoved
            case .keysRotated: .domainKeysRotated
            case .limitExceeded: .limitExceeded
            case .credentialAlert: .credentialAlert
            case .credentialSuspended: .credentialSuspended
            case .credentialReinstated: .credentialReinstated
            case .webhookFailing: .webhookFailing
            case .webhookDisabled: .webhookDisabled
            }
            var event = Event(id: "\(index)-\(ordinal)", type: kind, messageId: "", queueId: "", tenant: notice.tenant,
                              sender: notice.domain, recipient: "", timestampMillis: notice.at)
            if !notice.reason.isEmpty { event.response = notice.reason }
            try storeEvent(event, index: index, ordinal: ordinal, in: txn)
        }
        return .success(())
    }

    /// The record stored under `key`, or nil. Any thread; a read transaction.
    public func registryRecord(_ key: String) throws -> RegistryRecord? {
        try read { txn in
            guard let v = try txn.get(dbRegistry, Array(key.utf8)) else { return nil }
            return try RegistryRecord(decoding: UnsafeRawBufferPointer(v).map { $0 })
        }
    }

    /// Every record whose key starts with `prefix`, in key order. Any thread; a read transaction.
    public func registryRecords(prefix: String) throws -> [RegistryRecord] {
        try read { txn in
            let cursor = try txn.cursor(dbRegistry)
            defer { cursor.close() }
            let start = Array(prefix.utf8)
            var out: [RegistryRecord] = []
            var item = try cursor.seek(atLeast: start)
            while let cur = item, cur.key.starts(with: start) {
                out.append(try RegistryRecord(decoding: UnsafeRawBufferPointer(cur.value).map { $0 }))
                item = try cursor.get(MDB_NEXT)
            }
            return out
        }
    }
}
