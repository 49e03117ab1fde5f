import CLMDB
import Registry

extension SpoolStore {
    /// Meta key of the webhook route version: 1 + the log index (u64, big-endian) of the last
    /// applied command that changed an endpoint; absent (0) until one did.
    static let webhookRoutesVersionKey = Array("webhook-routes-version".utf8)

    /// The version of the endpoint routes as `txn` sees them.
    func webhookRoutesVersion(in txn: LMDBTransaction) throws -> UInt64 {
        guard let v = try txn.get(dbMeta, Self.webhookRoutesVersionKey) else { return 0 }
        var r = BinaryReader(v, what: "webhook routes version")
        return try r.u64()
    }

    /// Every endpoint's route as `txn` sees them, from memory when nothing changed an endpoint
    /// since they were last read (`WebhookRouteCache`).
    func webhookRoutes(in txn: LMDBTransaction) throws -> [WebhookRoute] {
        let version = try webhookRoutesVersion(in: txn)
        if let routes = webhookRouteCache.routes(at: version) { return routes }
        let routes = try webhookEndpoints(in: txn).map(\.route)
        webhookRouteCache.store(routes, at: version)
        return routes
    }

    /// After `command` (applied at log `index`) changed an endpoint: records `index + 1` as the
    /// routes' version, so no transaction uses routes cached before it. (A write transaction that
    /// does not commit clears the cache: its indices may be reused by other commands.)
    func bumpWebhookRoutes(after command: RegistryCommand, index: UInt64, in txn: LMDBTransaction) throws {
        guard case .webhook(let w) = command, w.changesEndpoint else { return }
        var w8 = BinaryWriter(capacity: 8)
        w8.u64(index &+ 1)
        try txn.put(dbMeta, Self.webhookRoutesVersionKey, w8.bytes)
    }

    /// Every endpoint's route, read in its own transaction (memory when unchanged). Any thread.
    public func webhookRoutes() throws -> [WebhookRoute] { try read { try webhookRoutes(in: $0) } }
}
