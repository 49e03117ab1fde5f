/// A delivery event (accepted, delivered, deferred, bounced, suppressed, failed)
/// as stored by the spool and served by `GET /v1/events` and webhooks.
///
/// Encodes to the JSON object of DESIGN §3: `id`, `type`, `messageId`,
/// `queueId`, `tenant`, `sender`, `recipient`, `timestamp` (RFC 3339) and, for
/// outcomes, `smtpCode`, `enhancedCode`, `response`, `remoteHost`, `attempt`,
/// `bounceClass`, `sendingIP` (local source address), `pool` (source pool) (omitted when
/// absent). Pure value; any thread.
public struct Event: Sendable, Equatable, Codable {
    /// Event type (`type` in JSON).
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case accepted, delivered, deferred, bounced, complained, suppressed, failed
        /// Control-plane events about a sending domain (`sender` holds the domain, `response`
        /// the reason).
        case domainAdded = "domain.added", domainVerified = "domain.verified", domainFailing = "domain.failing"
        case domainRemoved = "domain.removed", domainKeysRotated = "domain.keys_rotated"
        /// Limits and abuse (issue 11): `sender` holds the subject (`tenant/T`, `credential/T/U`
        /// or `T/U`), `response` what happened.
        case limitExceeded = "limit.exceeded", credentialAlert = "credential.alert"
        case credentialSuspended = "credential.suspended", credentialReinstated = "credential.reinstated"
        /// A webhook endpoint used up a call's retries / was disabled by a 410 (`sender` holds
        /// the endpoint id, `response` the reason).
        case webhookFailing = "webhook.failing", webhookDisabled = "webhook.disabled"

        var code: UInt8 {
            switch self {
            case .accepted: 0
            case .delivered: 1
            case .deferred: 2
            case .bounced: 3
            case .complained: 4
            case .suppressed: 5
            case .failed: 6
            case .domainAdded: 7
            case .domainVerified: 8
            case .domainFailing: 9
            case .domainRemoved: 10
            case .domainKeysRotated: 11
            case .limitExceeded: 12
            case .credentialAlert: 13
            case .credentialSuspended: 14
            case .credentialReinstated: 15
            case .webhookFailing: 16
            case .webhookDisabled: 17
            }
        }

        init?(code: UInt8) {
            guard Int(code) < Kind.byCode.count else { return nil }
            self = Kind.byCode[Int(code)]
        }

        /// `allCases` built once (the synthesized `allCases` builds an array at every call, and
        /// every stored event read decodes its kind); index = `code`.
        private static let byCode = allCases
    }

    /// Unique, deterministic ID: `<log index>-<ordinal within the command>`.
    public var id: String
    public var type: Kind
    public var messageId: String
    public var queueId: String
    public var tenant: String
    public var sender: String
    public var recipient: String
    /// ms since epoch; JSON `timestamp` is its RFC 3339 form.
    public var timestampMillis: Int64
    public var smtpCode: Int?
    public var enhancedCode: String?
    public var response: String?
    public var remoteHost: String?
    public var attempt: Int?
    public var bounceClass: String?
    /// Local source address the delivery attempt sent from (outcomes only).
    public var sendingIP: String?
    /// Source pool the delivery attempt used (outcomes only).
    public var pool: String?

    /// RFC 3339 form of `timestampMillis`.
    public var timestamp: String { RFC3339.format(millis: timestampMillis) }

    /// Creates an event. Any thread.
    public init(id: String, type: Kind, messageId: String, queueId: String, tenant: String, sender: String,
                recipient: String, timestampMillis: Int64, smtpCode: Int? = nil, enhancedCode: String? = nil,
                response: String? = nil, remoteHost: String? = nil, attempt: Int? = nil, bounceClass: String? = nil,
                sendingIP: String? = nil, pool: String? = nil) {
        self.id = id
        self.type = type
        self.messageId = messageId
        self.queueId = queueId
        self.tenant = tenant
        self.sender = sender
        self.recipient = recipient
        self.timestampMillis = timestampMillis
        self.smtpCode = smtpCode
        self.enhancedCode = enhancedCode
        self.response = response
        self.remoteHost = remoteHost
        self.attempt = attempt
        self.bounceClass = bounceClass
        self.sendingIP = sendingIP
        self.pool = pool
    }

    private enum CodingKeys: String, CodingKey {
        case id, type, messageId, queueId, tenant, sender, recipient, timestamp
        case smtpCode, enhancedCode, response, remoteHost, attempt, bounceClass, sendingIP, pool
    }

    /// Encodes the DESIGN §3 JSON shape. Any thread.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(type, forKey: .type)
        try c.encode(messageId, forKey: .messageId)
        try c.encode(queueId, forKey: .queueId)
        try c.encode(tenant, forKey: .tenant)
        try c.encode(sender, forKey: .sender)
        try c.encode(recipient, forKey: .recipient)
        try c.encode(timestamp, forKey: .timestamp)
        try c.encodeIfPresent(smtpCode, forKey: .smtpCode)
        try c.encodeIfPresent(enhancedCode, forKey: .enhancedCode)
        try c.encodeIfPresent(response, forKey: .response)
        try c.encodeIfPresent(remoteHost, forKey: .remoteHost)
        try c.encodeIfPresent(attempt, forKey: .attempt)
        try c.encodeIfPresent(bounceClass, forKey: .bounceClass)
        try c.encodeIfPresent(sendingIP, forKey: .sendingIP)
        try c.encodeIfPresent(pool, forKey: .pool)
    }

    /// Decodes the DESIGN §3 JSON shape (webhook receivers, CLI). Any thread.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        type = try c.decode(Kind.self, forKey: .type)
        messageId = try c.decode(String.self, forKey: .messageId)
        queueId = try c.decode(String.self, forKey: .queueId)
        tenant = try c.decode(String.self, forKey: .tenant)
        sender = try c.decode(String.self, forKey: .sender)
        recipient = try c.decode(String.self, forKey: .recipient)
        let text = try c.decode(String.self, forKey: .timestamp)
        guard let millis = RFC3339.parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: .timestamp, in: c, debugDescription: "not RFC 3339: \(text)")
        }
        timestampMillis = millis
        smtpCode = try c.decodeIfPresent(Int.self, forKey: .smtpCode)
        enhancedCode = try c.decodeIfPresent(String.self, forKey: .enhancedCode)
        response = try c.decodeIfPresent(String.self, forKey: .response)
        remoteHost = try c.decodeIfPresent(String.self, forKey: .remoteHost)
        attempt = try c.decodeIfPresent(Int.self, forKey: .attempt)
        bounceClass = try c.decodeIfPresent(String.self, forKey: .bounceClass)
        sendingIP = try c.decodeIfPresent(String.self, forKey: .sendingIP)
        pool = try c.decodeIfPresent(String.self, forKey: .pool)
    }
}
