/// Filter for ``SpoolStore/events(_:)``: all given fields must match; results
/// are newest first, at most `limit`. Recipient and sender match ASCII
/// case-insensitively. Pure value; any thread.
public struct EventQuery: Sendable, Equatable {
    public var recipient: String?
    public var sender: String?
    public var type: Event.Kind?
    public var queueId: String?
    /// Only events at or after this time (ms since epoch).
    public var since: Int64?
    /// Only events strictly before this time (ms since epoch), for paging.
    public var before: Int64?
    /// Maximum number of events returned (clamped to 1...10_000).
    public var limit: Int

    /// Creates a query. Any thread.
    public init(recipient: String? = nil, sender: String? = nil, type: Event.Kind? = nil, queueId: String? = nil,
                since: Int64? = nil, before: Int64? = nil, limit: Int = 100) {
        self.recipient = recipient
        self.sender = sender
        self.type = type
        self.queueId = queueId
        self.since = since
        self.before = before
        self.limit = limit
    }
}
