/// Filter for ``SpoolStore/events(_:)`` and ``SpoolStore/searchEvents(_:)``: all given fields
/// must match; results are newest first, at most `limit`. Text fields match ASCII
/// case-insensitively. Pure value; any thread.
public struct EventQuery: Sendable, Equatable {
    public var recipient: String?
    public var sender: String?
    public var type: Event.Kind?
    public var queueId: String?
    /// The recipient's domain (the part after the last `@`).
    public var recipientDomain: String?
    public var tenant: String?
    public var messageId: String?
    public var bounceClass: String?
    /// Only events at or after this time (ms since epoch).
    public var since: Int64?
    /// Only events strictly before this time (ms since epoch), for paging.
    public var before: Int64?
    /// Opaque position from a previous ``EventPage/cursor``: only events older than the last one
    /// returned there.
    public var cursor: String?
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

/// One page of ``SpoolStore/searchEvents(_:)``: the events, newest first, and the cursor that
/// continues after the last of them (nil when nothing older matches). Pure value; any thread.
public struct EventPage: Sendable, Equatable {
    public var events: [Event]
    /// Pass as ``EventQuery/cursor`` (with the same filters) for the next page; nil at the end.
    public var cursor: String?

    /// Creates a page. Any thread.
    public init(events: [Event], cursor: String?) {
        self.events = events
        self.cursor = cursor
    }
}
