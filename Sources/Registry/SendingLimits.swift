/// Sending limits of a tenant or a credential (issue 11). Every field is optional: nil means no limit
/// at this level. Enforced cluster-wide by the limits layer; stored inside `TenantSettings` and
/// credential records of the control plane. Pure value; any thread.
public struct SendingLimits: Codable, Sendable, Equatable {
    /// Accepted messages per second.
    public var messagesPerSecond: Int?
    /// Accepted messages per minute.
    public var messagesPerMinute: Int?
    /// Accepted messages per day (rolling 24 h).
    public var messagesPerDay: Int?
    /// Recipients in one message.
    public var recipientsPerMessage: Int?
    /// Recipients per day (rolling 24 h).
    public var recipientsPerDay: Int?
    /// SMTP sessions open at once.
    public var concurrentConnections: Int?

    /// Creates limits; every limit defaults to none. Any thread.
    public init(messagesPerSecond: Int? = nil, messagesPerMinute: Int? = nil, messagesPerDay: Int? = nil,
                recipientsPerMessage: Int? = nil, recipientsPerDay: Int? = nil, concurrentConnections: Int? = nil) {
        self.messagesPerSecond = messagesPerSecond
        self.messagesPerMinute = messagesPerMinute
        self.messagesPerDay = messagesPerDay
        self.recipientsPerMessage = recipientsPerMessage
        self.recipientsPerDay = recipientsPerDay
        self.concurrentConnections = concurrentConnections
    }

    /// True when no limit is set.
    public var isEmpty: Bool { self == SendingLimits() }
}
