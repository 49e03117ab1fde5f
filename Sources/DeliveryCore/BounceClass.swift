/// Why a delivery attempt failed, as reported in events' `bounceClass` (raw values are lowercase
/// kebab strings and are part of the event contract).
///
/// Pure value; any thread may use it.
public enum BounceClass: String, Sendable, Hashable, CaseIterable, Codable {
    /// The recipient mailbox does not exist or is disabled.
    case badMailbox = "bad-mailbox"
    /// The recipient domain does not exist, has no usable MX or has a null MX.
    case badDomain = "bad-domain"
    /// The recipient mailbox is over quota.
    case mailboxFull = "mailbox-full"
    /// The receiver greylisted the attempt; retry after a short wait.
    case greylisted
    /// The receiver limits how fast this sender or IP may send.
    case rateLimited = "rate-limited"
    /// The sending IP or domain has bad reputation or is on a block list.
    case reputationBlock = "reputation-block"
    /// The message content was judged spam, phishing or malware.
    case spamContent = "spam-content"
    /// A local policy of the receiver refused the message (relaying, sender rules including a sender
    /// domain that does not exist, recipient restrictions, RFC 5322 compliance, recipient limits).
    /// Security and policy replies (enhanced code X.7.X) not covered by another class land here.
    case policy
    /// Sender authentication failed: SPF, DKIM, DMARC, reverse DNS, or SMTP AUTH credentials.
    case authFailure = "auth-failure"
    /// TLS was required but not available, or the TLS handshake / verification failed.
    case tlsFailure = "tls-failure"
    /// A DNS lookup failed (temporary resolver errors, a sender domain that does not resolve for now).
    case dnsFailure = "dns-failure"
    /// A connection or reply timed out, the connection broke, or the message expired in the queue.
    case timeout
    /// The message exceeds the receiver's size limit.
    case messageTooLarge = "message-too-large"
    /// Anything not recognised.
    case other

    /// True for the classes that say the recipient address itself is bad (bad-mailbox, bad-domain):
    /// the only ones that may suppress an address. Pure.
    public var namesAddress: Bool { self == .badMailbox || self == .badDomain }
}

/// Whether a failure is permanent for this message (hard: bounce now) or worth retrying (soft).
///
/// Pure value; any thread may use it.
public enum BounceHardness: String, Sendable, Hashable, Codable {
    /// Permanent: do not retry this message to this recipient.
    case hard
    /// Transient: retry later.
    case soft
}

/// The result of classifying one failure.
///
/// Pure value; any thread may use it.
public struct BounceClassification: Sendable, Equatable {
    /// The failure's class.
    public var bounceClass: BounceClass
    /// Whether to bounce (hard) or retry (soft).
    public var hardness: BounceHardness
    /// The name of the rule that matched (for logs and tests), e.g. "gmail-unusual-rate".
    public var rule: String
    /// The SMTP stage whose reply was classified (`BounceClassifier.classify(_:at:)`), nil when unknown or
    /// not from an SMTP session (a DSN's per-recipient status, a corpus entry). Only nil and `.recipient`
    /// let an address class suppress the recipient, and `.data`/`.body` when the transaction accepted only
    /// that recipient (`suppressesRecipient(acceptedRecipients:)`).
    public var stage: SMTPClientSession.Stage?

    /// Creates a classification. Pure; any caller.
    public init(_ bounceClass: BounceClass, _ hardness: BounceHardness, rule: String, stage: SMTPClientSession.Stage? = nil) {
        self.bounceClass = bounceClass
        self.hardness = hardness
        self.rule = rule
        self.stage = stage
    }

    /// True when the receiver is pushing back on this source IP / sender (rate limit or
    /// reputation), i.e. the signal `AdaptiveThrottle` reacts to. Pure; any caller.
    public var isThrottleSignal: Bool {
        bounceClass == .rateLimited || bounceClass == .reputationBlock
    }
}
