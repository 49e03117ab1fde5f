import CLMDB
import Registry

extension SpoolStore {
    /// Counts every stored webhook call of every endpoint (one read transaction, O(outbox)) and
    /// makes that the tally. When the spool opens. Any thread.
    func recountWebhookTally() throws {
        webhookTally.reset(to: try read { txn in try countWebhookCalls(in: txn) })
    }

    /// Stored calls per endpoint, counted by walking every call key (for the tally at open, and
    /// tests comparing it with the tally).
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
