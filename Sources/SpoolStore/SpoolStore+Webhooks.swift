import CLMDB
import Foundation
import Registry
import Synchronization

/// Decoded endpoint records by their stored bytes, so recording an event does not decode JSON
/// again for every event (decoding is pure: same bytes, same record on every node).
private let endpointCache = Mutex<[[UInt8]: WebhookEndpoint]>([:])

/// Webhook backlog and failure counts, for metrics and the API. Pure value; any thread.
public struct WebhookStats: Sendable, Equatable {
    /// Per endpoint.
    public struct Endpoint: Sendable, Equatable {
        public var id: String
        public var tenant: String
        /// `active`, `paused`, `disabled` or `failing`.
        public var status: String
        /// Calls waiting to be sent (including retries).
        public var pending: Int
        /// Calls that used up the retry schedule (kept for a replay).
        public var failed: Int
        /// Calls delivered (as long as they are kept).
        public var delivered: Int
        /// Failed attempts in a row.
        public var consecutiveFailures: Int
        /// The event time of the oldest pending call, ms since the epoch.
        public var oldestPendingAt: Int64?
    }

    public var endpoints: [Endpoint] = []
    /// Sum of `pending` over endpoints.
    public var backlog: Int { endpoints.reduce(0) { $0 + $1.pending } }
    /// Sum of `failed` over endpoints.
    public var failed: Int { endpoints.reduce(0) { $0 + $1.failed } }
    /// Endpoints marked failing or disabled.
    public var unhealthyEndpoints: Int { endpoints.filter { $0.status == "failing" || $0.status == "disabled" }.count }
}

extension SpoolStore {
    /// Writes the outbox entries of `event` (one pending call per endpoint that wants it) inside
    /// the transaction that records the event (`record`: the event's stored bytes, held by each
    /// call). Webhook notices themselves are not sent.
    func recordWebhookCalls(_ event: Event, record: [UInt8], index: UInt64, ordinal: Int, in txn: LMDBTransaction) throws {
        guard !event.type.rawValue.hasPrefix("webhook.") else { return }
        let routes = try webhookRoutes(in: txn)
        guard !routes.isEmpty else { return }
        try WebhookOutbox.pendingRecords(routes: routes, type: event.type.rawValue, tenant: event.tenant, index: index,
                                         ordinal: ordinal, at: event.timestampMillis, eventRecord: { record }) { endpoint, key, value in
            // A new sequence: no call was stored under this key.
            webhookTally.stage(endpoint, .init(pending: 1))
            try txn.put(dbRegistry, key, value)
        }
    }

    /// After a webhook endpoint was deleted, its outbox goes too.
    func afterRegistry(_ command: RegistryCommand, in txn: LMDBTransaction) throws {
        guard case .webhook(.delete(let id, _)) = command else { return }
        _ = try txn.delete(dbRegistry, Array(RegistryKeys.webhookMark(id).utf8))
        webhookTally.stageRemoveAll(id)
        for prefix in [RegistryKeys.webhookPendingPrefix(id), RegistryKeys.webhookDonePrefix(id), RegistryKeys.webhookBatchPrefix(id)] {
            let start = Array(prefix.utf8)
            var keys: [[UInt8]] = []
            let cursor = try txn.cursor(dbRegistry)
            var item = try cursor.seek(atLeast: start)
            while let cur = item, cur.key.starts(with: start) {
                keys.append(Array(cur.key))
                item = try cursor.get(MDB_NEXT)
            }
            cursor.close()
            for k in keys { _ = try txn.delete(dbRegistry, k) }
        }
    }

    /// With event retention: finished calls (delivered or failed) of events older than `p.before`
    /// go too, at most `p.maxCount` per endpoint. Pending calls are never dropped.
    func pruneWebhookCalls(_ p: SpoolCommand.PruneEvents, in txn: LMDBTransaction) throws {
        for e in try webhookEndpoints(in: txn) {
            let start = Array(RegistryKeys.webhookDonePrefix(e.id).utf8)
            var victims: [[UInt8]] = []
            let cursor = try txn.cursor(dbRegistry)
            var item = try cursor.seek(atLeast: start)
            while let cur = item, cur.key.starts(with: start), victims.count < Int(p.maxCount) {
                guard let call = try RegistryRecord(decoding: UnsafeRawBufferPointer(cur.value).map { $0 }).webhookCall,
                      call.createdAt < p.before else { break }
                victims.append(Array(cur.key))
                item = try cursor.get(MDB_NEXT)
            }
            cursor.close()
            for k in victims {
                try tallyWebhookWrite(key: k, value: nil, in: txn)
                _ = try txn.delete(dbRegistry, k)
            }
        }
    }

    /// The record stored under `key`: an endpoint (JSON) comes from the decoded-endpoint cache when
    /// its bytes were decoded before (every webhook lease and result reads its endpoint).
    static func registryRecord(key: String, stored v: UnsafeRawBufferPointer) throws -> RegistryRecord {
        guard key.hasPrefix(RegistryKeys.webhookPrefix) else { return try RegistryRecord(decoding: v) }
        return .webhookEndpoint(try decodedEndpoint(Array(v)))
    }

    /// The endpoint whose record is `bytes`, decoded once per distinct record.
    static func decodedEndpoint(_ bytes: [UInt8]) throws -> WebhookEndpoint {
        if let e = endpointCache.withLock({ $0[bytes] }) { return e }
        guard let e = try RegistryRecord(decoding: bytes).webhookEndpoint else {
            throw StoreError(.corrupt, "webhook record is not an endpoint", context: "webhook")
        }
        endpointCache.withLock { cache in
            if cache.count > 4096 { cache.removeAll() }
            cache[bytes] = e
        }
        return e
    }

    /// Every endpoint record, by id.
    func webhookEndpoints(in txn: LMDBTransaction) throws -> [WebhookEndpoint] {
        let start = Array(RegistryKeys.webhookPrefix.utf8)
        let cursor = try txn.cursor(dbRegistry)
        defer { cursor.close() }
        var raw: [[UInt8]] = []
        var item = try cursor.seek(atLeast: start)
        while let cur = item, cur.key.starts(with: start) {
            raw.append(Array(cur.value))
            item = try cursor.get(MDB_NEXT)
        }
        guard !raw.isEmpty else { return [] }
        return try raw.map(Self.decodedEndpoint)
    }

    /// Every webhook endpoint. Any thread; a read transaction.
    public func webhookEndpoints() throws -> [WebhookEndpoint] { try read { try webhookEndpoints(in: $0) } }

    /// One endpoint, or nil. Any thread.
    public func webhookEndpoint(_ id: String) throws -> WebhookEndpoint? {
        try registryRecord(RegistryKeys.webhook(id))?.webhookEndpoint
    }

    /// Up to `limit` pending calls of endpoint `id`, oldest event first (a call in a batch record
    /// shows the batch's attempts, lease and id). Any thread.
    public func pendingWebhookCalls(_ id: String, limit: Int) throws -> [WebhookCall] {
        try withBatchRecords(calls(prefix: RegistryKeys.webhookPendingPrefix(id), newestFirst: false, limit: limit), endpoint: id)
    }

    /// Up to `limit` finished calls of endpoint `id` (delivered or failed). Any thread.
    public func finishedWebhookCalls(_ id: String, newestFirst: Bool = true, limit: Int) throws -> [WebhookCall] {
        try calls(prefix: RegistryKeys.webhookDonePrefix(id), newestFirst: newestFirst, limit: limit)
    }

    /// The pending or finished call `sequence` of endpoint `id`. Any thread.
    public func webhookCall(_ id: String, sequence: UInt64) throws -> WebhookCall? {
        if let c = try registryRecord(RegistryKeys.webhookPending(id, sequence))?.webhookCall { return c }
        return try registryRecord(RegistryKeys.webhookDone(id, sequence))?.webhookCall
    }

    private func calls(prefix: String, newestFirst: Bool, limit: Int) throws -> [WebhookCall] {
        try read { txn in
            let cursor = try txn.cursor(dbRegistry)
            defer { cursor.close() }
            let start = Array(prefix.utf8)
            var out: [WebhookCall] = []
            var item: (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)?
            if newestFirst {
                // Position on the last key with the prefix: seek past it, step back.
                var end = start
                end[end.count - 1] += 1  // "/" + 1 = "0": just past every key under the prefix
                item = try cursor.seek(atLeast: end) != nil ? try cursor.get(MDB_PREV) : try cursor.get(MDB_LAST)
            } else {
                item = try cursor.seek(atLeast: start)
            }
            while let cur = item, cur.key.starts(with: start), out.count < limit {
                if let c = try RegistryRecord(decoding: UnsafeRawBufferPointer(cur.value).map { $0 }).webhookCall { out.append(c) }
                item = try cursor.get(newestFirst ? MDB_PREV : MDB_NEXT)
            }
            return out
        }
    }

    /// Whether a finished call's stored record says `failed` (binary records decode cheaply; JSON
    /// records of older builds say so in their text, so delivered ones are not decoded).
    static func isFailedCall(_ value: UnsafeRawBufferPointer) -> Bool {
        if value.first == WebhookCall.binaryMagic {
            // The status byte, found by skipping the fields before it (no decoding).
            return WebhookCall.binaryStatus(value) == .failed
        }
        return value.firstRange(of: Array("\"status\":\"failed\"".utf8)) != nil
    }

    /// Backlog and failure counts of every endpoint: the counts from the tally kept as calls are
    /// written and retired (`WebhookTally`), the oldest pending call from one seek, so the cost
    /// does not grow with the stored calls. For metrics and `GET /v1/webhooks`. Any thread; one
    /// read transaction.
    public func webhookStats() throws -> WebhookStats {
        try read { txn in
            var stats = WebhookStats()
            for e in try webhookEndpoints(in: txn) {
                let n = webhookTally.counts(e.id)
                var s = WebhookStats.Endpoint(id: e.id, tenant: e.tenant, status: e.status, pending: n.pending,
                                              failed: n.failed, delivered: n.delivered,
                                              consecutiveFailures: e.consecutiveFailures)
                let cursor = try txn.cursor(dbRegistry)
                let pending = Array(RegistryKeys.webhookPendingPrefix(e.id).utf8)
                if let cur = try cursor.seek(atLeast: pending), cur.key.starts(with: pending) {
                    s.oldestPendingAt = try? RegistryRecord(decoding: UnsafeRawBufferPointer(cur.value).map { $0 }).webhookCall?.createdAt
                }
                cursor.close()
                stats.endpoints.append(s)
            }
            return stats
        }
    }
}
