/// Why `LimitLedger` refused a session, message or recipient. Pure value; any thread.
public struct LimitRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// Which limit.
    public enum Kind: String, Sendable, Equatable {
        case concurrentConnections, messagesPerSecond, messagesPerMinute, messagesPerDay
        case recipientsPerMessage, recipientsPerDay
    }
    public var kind: Kind
    /// The limit that was reached.
    public var limit: Int
    /// The subject key whose limit it is (`tenant/acme`, `credential/acme/alice`).
    public var key: String

    /// Creates a refusal. Any thread.
    public init(kind: Kind, limit: Int, key: String) {
        self.kind = kind
        self.limit = limit
        self.key = key
    }

    /// One line, e.g. `messagesPerMinute limit 10 of credential/acme/alice reached`.
    public var description: String { "\(kind.rawValue) limit \(limit) of \(key) reached" }

    /// The SMTP reply that fits: `421 4.7.0` (sessions), `452 4.5.3` (recipients in one message),
    /// `451 4.7.1` (rates).
    public var reply: (code: Int, enhancedCode: String, text: String) {
        switch kind {
        case .concurrentConnections: (421, "4.7.0", "Too many concurrent sessions (\(description)), try later")
        case .recipientsPerMessage: (452, "4.5.3", "Too many recipients (\(description))")
        default: (451, "4.7.1", "Sending rate exceeded (\(description)), try later")
        }
    }
}
