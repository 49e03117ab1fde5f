import CLMDB
import Dispatch
import SendarixSupport

extension SpoolStore {
    /// Applies committed log entries in ONE write transaction with ONE fsync:
    /// optionally appends each to the local log table (an enqueue's body is not
    /// repeated there; the applied message holds it), runs the state machine
    /// (``SpoolMachine``) for each and records the last applied index and term.
    ///
    /// Returns one result per entry: `.success` when applied, `.failure` when
    /// the state machine rejected it (duplicate, stale attempt, lease conflict,
    /// not found…); rejected entries are still logged and count as applied
    /// positions. Entries at or below the last applied index were applied
    /// before (a replay after restart) and are skipped, reported as `.success`,
    /// so re-delivering committed entries is harmless. Throws when the transaction cannot commit (e.g. `.storageFull`):
    /// then nothing of the batch is stored.
    ///
    /// Blocks (disk writes and fsync). Call from one thread at a time, and keep
    /// the whole call on that thread (``LocalLog``'s writer thread, or a Raft
    /// applier thread). Log records with index < `trimLogBefore` are deleted
    /// (at most 2 × `entries.count` per call) to bound the local log.
    public func commit(_ entries: [LogEntry], appendToLog: Bool = true,
                       trimLogBefore: UInt64 = 0) throws -> [Result<Void, StoreError>] {
        try growingMap(needed: entries.reduce(0) { $0 + $1.command.approximateSize }) {
            try commitOnce(entries, appendToLog: appendToLog, trimLogBefore: trimLogBefore)
        }
    }

    private func commitOnce(_ entries: [LogEntry], appendToLog: Bool,
                            trimLogBefore: UInt64) throws -> [Result<Void, StoreError>] {
        guard let last = entries.last else { return [] }
        return try withOpenEnv {
            var txnp: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, 0, &txnp)
            if rc == MDB_MAP_RESIZED { throw MapResized() }
            guard rc == 0, let txnPtr = txnp else { throw StoreError.lmdb(rc, "mdb_txn_begin (write)") }
            let txn = LMDBTransaction(txn: txnPtr)
            webhookTally.discardStaged()  // from an attempt before a map growth
            var results: [Result<Void, StoreError>] = []
            results.reserveCapacity(entries.count)
            do {
                var appliedIndex: UInt64 = 0
                if let v = try txn.get(dbMeta, SpoolKeys.applied) {
                    var r = BinaryReader(v, what: "applied position")
                    appliedIndex = try r.u64()
                }
                for entry in entries {
                    guard entry.index > appliedIndex else {
                        results.append(.success(()))
                        continue
                    }
                    appliedIndex = entry.index
                    if appendToLog {
                        var w = BinaryWriter(capacity: 512)
                        w.u64(entry.term)
                        w.raw(entry.command.encoded(includeBody: false))
                        try txn.put(dbLog, SpoolKeys.log(entry.index), w.bytes, flags: MDB_APPEND)
                    }
                    results.append(try apply(entry, in: txn))
                }
                if trimLogBefore > 0 { try trimLog(before: trimLogBefore, max: entries.count * 2, in: txn) }
                try indexTailIfDue(in: txn)
                if appliedIndex == last.index {
                    var w = BinaryWriter(capacity: 16)
                    w.u64(last.index)
                    w.u64(last.term)
                    try txn.put(dbMeta, SpoolKeys.applied, w.bytes)
                }
                try persistWebhookTally(in: txn)  // after the applied position: the marker holds it
            } catch {
                mdb_txn_abort(txnPtr)
                webhookRouteCache.clear()  // its log indices may be given to other commands
                webhookTally.discardStaged()
                throw error
            }
            let started = DispatchTime.now().uptimeNanoseconds
            let crc = mdb_txn_commit(txnPtr)  // frees the txn even on failure
            NodeMetrics.shared.spoolCommitSeconds.observe(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            guard crc == 0 else {
                webhookRouteCache.clear()
                webhookTally.discardStaged()
                throw StoreError.lmdb(crc, "mdb_txn_commit")
            }
            webhookTally.commitStaged()
            return results
        }
    }

    /// Applies one entry inside `txn`. Returns the state machine's verdict;
    /// throws only for storage failures (which abort the whole batch).
    private func apply(_ entry: LogEntry, in txn: LMDBTransaction) throws -> Result<Void, StoreError> {
        if case .registry(let command) = entry.command { return try applyRegistry(command, index: entry.index, in: txn) }
        if case .postpone(let p) = entry.command { return try applyPostpone(p, in: txn) }
        if case .pullForward(let p) = entry.command { return try applyPullForward(p, in: txn) }
        var current: StoredMessage?
        if let id = entry.command.queueID, !SpoolKeys.isValidQueueID(id) {
            // Rejected here: such a key would make LMDB fail the whole batch.
            return .failure(StoreError(.invalidCommand, "queue ID must be 1...\(SpoolMachine.maxQueueIDBytes) bytes",
                                       context: String(id.prefix(64))))
        }
        if let id = entry.command.queueID, let v = try txn.get(dbMessages, SpoolKeys.message(id)) {
            do {
                current = try StoredMessage(decoding: v)
            } catch let error as StoreError {
                return .failure(StoreError(error.code, error.reason, context: id))
            }
        }
        let t = SpoolMachine.apply(entry.command, current: current, index: entry.index)
        if let rejection = t.rejection { return .failure(rejection) }

        switch t.message {
        case .unchanged:
            break
        case .put(let m):
            let oldDue = current?.nextAttemptAt
            let newDue = m.nextAttemptAt
            if oldDue != newDue {
                if let oldDue { try txn.delete(dbDue, SpoolKeys.due(oldDue, m.queueID)) }
                if let newDue { try txn.put(dbDue, SpoolKeys.due(newDue, m.queueID), [UInt8]()) }
            }
            try unlistPostponed(old: current, new: m, in: txn)
            if current?.lease?.owner != m.lease?.owner {
                if let owner = current?.lease?.owner { try txn.delete(dbLeases, SpoolKeys.lease(owner: owner, m.queueID)) }
                if let owner = m.lease?.owner { try txn.put(dbLeases, SpoolKeys.lease(owner: owner, m.queueID), [UInt8]()) }
            }
            try txn.put(dbMessages, SpoolKeys.message(m.queueID), m.encoded())
        case .remove:
            if let old = current {
                if let oldDue = old.nextAttemptAt { try txn.delete(dbDue, SpoolKeys.due(oldDue, old.queueID)) }
                try unlistPostponed(old: old, new: nil, in: txn)
                if let owner = old.lease?.owner { try txn.delete(dbLeases, SpoolKeys.lease(owner: owner, old.queueID)) }
                try txn.delete(dbMessages, SpoolKeys.message(old.queueID))
                if try !deleteLogBodyRef(old.queueID, in: txn) {
                    try deleteBody(old.queueID, bodySize: old.bodySize, in: txn)
                }
            }
        }

        if let body = t.body, let id = entry.command.queueID, let offset = entry.bodyOffset, !body.isEmpty {
            try putLogBodyRef(id, index: entry.index, offset: offset, length: body.count, in: txn)
        } else if let body = t.body, let id = entry.command.queueID {
            try putBody(body, queueID: id, in: txn)
        }

        let context: StoredMessage? = if case .put(let m) = t.message { m } else { current }
        for (ordinal, event) in t.events.enumerated() {
            try storeEvent(event, index: entry.index, ordinal: ordinal, message: context, in: txn)
        }

        switch t.suppression {
        case .add(let s)?:
            var w = BinaryWriter(capacity: 64)
            w.string(s.reason)
            w.i64(s.createdAt)
            try txn.put(dbSuppression, SpoolKeys.suppression(tenant: s.tenant, address: s.address), w.bytes)
        case .remove(let tenant, let address)?:
            try txn.delete(dbSuppression, SpoolKeys.suppression(tenant: tenant, address: address))
        case nil:
            break
        }
        if let p = t.pruneEvents {
            try pruneEvents(p, in: txn)
            try pruneWebhookCalls(p, in: txn)
        }
        return .success(())
    }

    /// Stores one event with its feed entry and counts; its search-index entries are written now
    /// or, when `deferIndex`, with the next batch (see `SpoolStore+DeferredIndex.swift`).
    /// Returns the event key.
    @discardableResult
    func storeEvent(_ event: Event, index: UInt64, ordinal: Int, message: StoredMessage? = nil,
                    deferIndex: Bool = true, in txn: LMDBTransaction) throws -> [UInt8] {
        let key = SpoolKeys.event(event, index: index, ordinal: ordinal)
        let record = event.encoded()
        try txn.put(dbEvents, key, record)
        if deferIndex { try deferIndexing(in: txn) } else { try putIndexEntries(record: record, key: key, in: txn) }
        try txn.put(dbEventIndex, SpoolKeys.feed(eventKey: key), key)
        try recordWebhookCalls(event, record: record, index: index, ordinal: ordinal, in: txn)
        try recordEventStats(event, message: message, in: txn)
        return key
    }

    /// Deletes the oldest events before `p.before` (at most `p.maxCount`) with their index entries.
    private func pruneEvents(_ p: SpoolCommand.PruneEvents, in txn: LMDBTransaction) throws {
        if let tenant = p.tenant { return try pruneTenantEvents(tenant, before: p.before, max: Int(p.maxCount), in: txn) }
        var victims: [([UInt8], Event)] = []
        let cursor = try txn.cursor(dbEvents)
        var item = try cursor.get(MDB_FIRST)
        while let cur = item, victims.count < Int(p.maxCount) {
            var r = BinaryReader(cur.key, what: "event key")
            guard SpoolKeys.unbiased(try r.u64()) < p.before else { break }
            victims.append((Array(cur.key), try Event(decoding: cur.value)))
            item = try cursor.get(MDB_NEXT)
        }
        cursor.close()
        try deleteEvents(victims, in: txn)
        try pruneEventStats(before: p.before, max: Int(p.maxCount), in: txn)
    }

    /// Deletes events with their index and feed entries.
    func deleteEvents(_ victims: [([UInt8], Event)], in txn: LMDBTransaction) throws {
        for (key, event) in victims {
            try txn.delete(dbEvents, key)
            for index in SpoolKeys.EventIndex.allCases {
                guard let field = index.field(of: event) else { continue }
                try txn.delete(dbEventIndex, SpoolKeys.indexPrefix(index, field) + key)
            }
            try txn.delete(dbEventIndex, SpoolKeys.feed(eventKey: key))
        }
    }

    private func trimLog(before index: UInt64, max: Int, in txn: LMDBTransaction) throws {
        let cursor = try txn.cursor(dbLog)
        let first = try cursor.get(MDB_FIRST).map { cur -> UInt64 in
            var r = BinaryReader(cur.key, what: "log key")
            return (try? r.u64()) ?? index
        }
        cursor.close()
        guard let first, first < index else { return }
        for i in first..<min(index, first + UInt64(max)) {
            try txn.delete(dbLog, SpoolKeys.log(i))
        }
    }
}
