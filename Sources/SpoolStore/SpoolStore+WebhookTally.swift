import CLMDB
import Registry

/// Persisted webhook call counts.
///
/// The tally's counts are stored in the meta table, one small value per endpoint with calls
/// (`hooktally/<endpoint id>` → `[pending u64][failed u64][delivered u64]`), written by the
/// transaction that changes them, so they are exactly as durable as the calls and travel with
/// backups and snapshots (copies of one read snapshot). Opening loads them, O(endpoints), instead
/// of walking every stored call (about 10⁸ a day at 500 msg/s with a webhook per event).
///
/// Every transaction of this build that may write calls also records a marker
/// (`hooktallyAt`: a version byte and the applied log position it commits), so the marker equals
/// the applied position exactly when the last commit that advanced it kept the counts. A build
/// without persisted counts (a rollback, or a node not yet upgraded, on the same data directory)
/// advances the applied position with every commit that writes calls, and leaves the marker
/// behind: then the open walks every call once, as before, and writes the counts and the marker.
extension SpoolStore {
    /// Meta key prefix of the persisted counts.
    static let tallyPrefix = Array("hooktally/".utf8)
    /// Meta key of the marker.
    static let tallyMarkerKey = Array("hooktallyAt".utf8)
    /// Marker layout version: a marker of another version is stale.
    static let tallyMarkerVersion: UInt8 = 1

    /// Makes the persisted counts the tally when they are current (O(endpoints)); else counts
    /// every stored call (O(outbox)) and persists that. When the spool opens (no other writer).
    func loadWebhookTally() throws {
        // Unreadable persisted counts are walked again, like stale ones.
        if let counts = try? read({ txn in try persistedWebhookTally(in: txn) }) {
            webhookTally.reset(to: counts, persisted: true)
            return
        }
        // One walk; then the counts and the marker in one write (the next commit writes every
        // count when that fails, e.g. the map is full).
        let counts = try read { txn in try countWebhookCalls(in: txn) }
        webhookTally.noteRecount(walked: counts.values.reduce(0) { $0 + $1.pending + $1.failed + $1.delivered })
        webhookTally.reset(to: counts, persisted: false)
        if (try? withWriteTransaction({ try persistWebhookTally(in: $0) })) != nil {
            webhookTally.commitStaged()
        }
    }

    /// The persisted counts, or nil when they are not current (no marker, or one that is not the
    /// applied position: a commit kept no counts). Any transaction.
    func persistedWebhookTally(in txn: LMDBTransaction) throws -> [String: WebhookTally.Counts]? {
        guard let marker = try txn.get(dbMeta, Self.tallyMarkerKey), Array(marker) == (try tallyMarker(in: txn)) else {
            return nil
        }
        var out: [String: WebhookTally.Counts] = [:]
        let cursor = try txn.cursor(dbMeta)
        defer { cursor.close() }
        var item = try cursor.seek(atLeast: Self.tallyPrefix)
        while let cur = item, cur.key.starts(with: Self.tallyPrefix) {
            var r = BinaryReader(cur.value, what: "webhook call counts")
            let id = String(decoding: cur.key.dropFirst(Self.tallyPrefix.count), as: UTF8.self)
            out[id] = WebhookTally.Counts(pending: Int(try r.u64()), failed: Int(try r.u64()), delivered: Int(try r.u64()))
            item = try cursor.get(MDB_NEXT)
        }
        return out
    }

    /// Writes the counts the staged changes lead to (``WebhookTally/pendingWrites()``) and the
    /// marker of the applied position as `txn` leaves it. Last thing before every commit of a
    /// transaction that may write calls; ``WebhookTally/commitStaged()`` after it committed.
    func persistWebhookTally(in txn: LMDBTransaction) throws {
        let (counts, full) = webhookTally.pendingWrites()
        if full {
            var stale: [[UInt8]] = []
            let cursor = try txn.cursor(dbMeta)
            var item = try cursor.seek(atLeast: Self.tallyPrefix)
            while let cur = item, cur.key.starts(with: Self.tallyPrefix) {
                stale.append(Array(cur.key))
                item = try cursor.get(MDB_NEXT)
            }
            cursor.close()
            for k in stale { _ = try txn.delete(dbMeta, k) }
        }
        for (id, c) in counts {
            let key = Self.tallyPrefix + Array(id.utf8)
            if c.isZero {
                _ = try txn.delete(dbMeta, key)
            } else {
                var w = BinaryWriter(capacity: 24)
                w.u64(UInt64(max(0, c.pending)))
                w.u64(UInt64(max(0, c.failed)))
                w.u64(UInt64(max(0, c.delivered)))
                try txn.put(dbMeta, key, w.bytes)
            }
        }
        // The applied position moves with almost every commit: put it without reading the old one.
        try txn.put(dbMeta, Self.tallyMarkerKey, try tallyMarker(in: txn))
    }

    /// The marker for the applied position stored in `txn` (none yet: the version byte alone).
    private func tallyMarker(in txn: LMDBTransaction) throws -> [UInt8] {
        [Self.tallyMarkerVersion] + (try txn.get(dbMeta, SpoolKeys.applied).map { Array($0) } ?? [])
    }

    /// Stored calls per endpoint, counted by walking every call key (for the tally at open when
    /// the persisted counts are not current, and tests comparing it with the tally).
    func countWebhookCalls(in txn: LMDBTransaction) throws -> [String: WebhookTally.Counts] {
        var out: [String: WebhookTally.Counts] = [:]
        let cursor = try txn.cursor(dbRegistry)
        defer { cursor.close() }
        for prefix in [Self.pendingCallPrefix, Self.doneCallPrefix] {
            var item = try cursor.seek(atLeast: prefix)
            while let cur = item, cur.key.starts(with: prefix) {
                if let t = Self.webhookCallTally(key: cur.key, value: cur.value) { out[t.0, default: .init()] = out[t.0, default: .init()] + t.1 }
                item = try cursor.get(MDB_NEXT)
            }
        }
        return out
    }

    /// Stages the change to the tally of putting `value` (nil: deleting) under `key` in `txn`;
    /// nothing for keys other than webhook calls. Before the write.
    func tallyWebhookWrite(key: [UInt8], value: [UInt8]?, in txn: LMDBTransaction) throws {
        guard key.starts(with: Self.pendingCallPrefix) || key.starts(with: Self.doneCallPrefix) else { return }
        var delta = WebhookTally.Counts()
        var endpoint: String?
        if let old = try txn.get(dbRegistry, key), let t = Self.webhookCallTally(key: key, value: old) {
            endpoint = t.0
            delta = WebhookTally.Counts(pending: -t.1.pending, failed: -t.1.failed, delivered: -t.1.delivered)
        }
        if let value, let t = value.withUnsafeBytes({ Self.webhookCallTally(key: key, value: $0) }) {
            endpoint = t.0
            delta = delta + t.1
        }
        if let endpoint, !delta.isZero { webhookTally.stage(endpoint, delta) }
    }

    static let pendingCallPrefix = Array("hookcall/".utf8)
    static let doneCallPrefix = Array("hookdone/".utf8)

    /// The endpoint and category (pending, failed or delivered) of the call stored as `value` under
    /// `key` (`hookcall/<id>/<sequence>` or `hookdone/<id>/<sequence>`); nil for other keys. Pure.
    static func webhookCallTally<K: Collection<UInt8>>(key: K, value: UnsafeRawBufferPointer)
        -> (String, WebhookTally.Counts)? {
        let bytes = Array(key)
        let pending = bytes.starts(with: pendingCallPrefix)
        guard pending || bytes.starts(with: doneCallPrefix) else { return nil }
        let rest = bytes[pendingCallPrefix.count...]
        guard let slash = rest.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        let id = String(decoding: rest[..<slash], as: UTF8.self)
        if pending { return (id, .init(pending: 1)) }
        return isFailedCall(value) ? (id, .init(failed: 1)) : (id, .init(delivered: 1))
    }
}
