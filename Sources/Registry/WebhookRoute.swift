/// What recording an event needs to know of an endpoint: which events it gets (its id, tenant
/// and event-type filter). Only `create`, `update` and `delete` change it, so a spool keeps the
/// routes of every endpoint in memory between those commands instead of reading and decoding the
/// endpoint records for every event. Pure value; any thread.
public struct WebhookRoute: Sendable, Equatable {
    public var id: String
    /// The endpoint's tenant; `*`: every tenant's events.
    public var tenant: String
    /// Event types recorded; empty (or containing `*`): every type.
    public var events: [String]

    /// Creates a route. Any thread.
    public init(id: String, tenant: String, events: [String]) {
        self.id = id
        self.tenant = tenant
        self.events = events
    }

    /// True when an event of `type` for `tenant` is recorded for this endpoint (also while it is
    /// paused or disabled: nothing is lost before the operator deletes it).
    public func wants(type: String, tenant eventTenant: String) -> Bool {
        guard eventTenant == tenant || tenant == "*" else { return false }
        return events.isEmpty || events.contains(type) || events.contains("*")
    }
}

extension WebhookEndpoint {
    /// The endpoint's route (id, tenant, event filter).
    public var route: WebhookRoute { WebhookRoute(id: id, tenant: tenant, events: events) }
}

extension WebhookCommand {
    /// True for the commands that may change which events an endpoint records (its routes), or
    /// whether it exists: everything but leases, results and replays.
    public var changesEndpoint: Bool {
        switch self {
        case .create, .update, .delete, .rotateSecret, .setPaused: true
        case .claim, .results, .replay, .leaseBatches, .batchResults: false
        }
    }
}
