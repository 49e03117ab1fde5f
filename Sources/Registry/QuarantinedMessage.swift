/// A message the spam filter held (issue 11): kept in the control plane under `quarantine/<id>`
/// until an operator releases it (it is then queued as it was accepted) or deletes it. `command`
/// holds the spool's enqueue command, base64. Pure value; any thread.
public struct QuarantinedMessage: Codable, Sendable, Equatable {
    /// The queue ID it was given at acceptance.
    public var id: String
    public var tenant: String
    public var user: String
    public var sender: String
    public var recipients: [String]
    /// rspamd's score and the symbols that matched.
    public var score: Double
    public var symbols: [String]
    /// Message size in bytes.
    public var size: Int
    /// When it was held (ms since epoch).
    public var at: Int64
    /// The spool's enqueue command (base64 of its binary encoding).
    public var command: String

    /// Creates a record. Any thread.
    public init(id: String, tenant: String, user: String, sender: String, recipients: [String], score: Double,
                symbols: [String], size: Int, at: Int64, command: String) {
        self.id = id
        self.tenant = tenant
        self.user = user
        self.sender = sender
        self.recipients = recipients
        self.score = score
        self.symbols = symbols
        self.size = size
        self.at = at
        self.command = command
    }
}
