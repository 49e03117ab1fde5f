/// A sending domain of a tenant: its DKIM keys (private halves sealed), whether its DNS records
/// were found as published, and the return-path (bounce) name. A record of the replicated control
/// plane: identical on every node. Pure value; any thread.
public struct SendingDomain: Codable, Sendable, Equatable {
    /// Verification state.
    public enum Status: String, Codable, Sendable, Equatable {
        /// Added; its DKIM records have not (yet) been found as published. Not signed for.
        case pending
        /// Every active DKIM record was found as published at the last check. Signed for.
        case verified
        /// Was verified; a later check found a record missing or changed. Not signed for.
        case failing
    }

    /// Lower-case domain name.
    public var name: String
    public var tenant: String
    public var status: Status
    /// Why the domain is pending or failing (empty when verified).
    public var statusReason: String
    /// ms since the epoch.
    public var createdAt: Int64
    /// Last verification check, ms since the epoch (nil: never checked).
    public var checkedAt: Int64?
    /// When the domain last became verified.
    public var verifiedAt: Int64?
    /// Its DKIM keys, oldest first.
    public var keys: [DKIMKey]
    /// The envelope-sender (bounce) domain for its mail, `bounces.<name>` by default.
    public var returnPath: String

    /// Creates a domain record. Any thread.
    public init(name: String, tenant: String, status: Status = .pending, statusReason: String = "",
                createdAt: Int64, checkedAt: Int64? = nil, verifiedAt: Int64? = nil, keys: [DKIMKey],
                returnPath: String? = nil) {
        self.name = name
        self.tenant = tenant
        self.status = status
        self.statusReason = statusReason
        self.createdAt = createdAt
        self.checkedAt = checkedAt
        self.verifiedAt = verifiedAt
        self.keys = keys
        self.returnPath = returnPath ?? "bounces.\(name)"
    }

    /// The keys mail is signed with (one per algorithm, normally RSA and Ed25519).
    public var activeKeys: [DKIMKey] { keys.filter { $0.state == .active } }
    /// Keys published ahead of a rotation.
    public var nextKeys: [DKIMKey] { keys.filter { $0.state == .next } }
    /// Keys whose records must stay published: active, next, and retired ones in their grace period.
    public func publishedKeys(at now: Int64) -> [DKIMKey] {
        keys.filter { $0.state != .retired || ($0.retiresAt ?? 0) > now }
    }
    /// True when mail for this domain is to be signed.
    public var signs: Bool { status == .verified && !activeKeys.isEmpty }
}

/// One DKIM key of a sending domain.
public struct DKIMKey: Codable, Sendable, Equatable {
    /// Where the key stands in its life.
    public enum State: String, Codable, Sendable, Equatable {
        /// Signs mail.
        case active
        /// Published ahead of a rotation; takes over once its record is found.
        case next
        /// No longer signs; its record stays published until `retiresAt` so mail in flight verifies.
        case retired
    }

    public var selector: String
    /// `rsa` or `ed25519`.
    public var algorithm: String
    /// Base64 of the public key as published in `p=`.
    public var publicKey: String
    /// Base64 of the private key bytes sealed with the cluster's DKIM key (never logged).
    public var sealedPrivateKey: String
    public var state: State
    public var createdAt: Int64
    /// For a retired key: when its record may be withdrawn.
    public var retiresAt: Int64?

    /// Creates a key record. Any thread.
    public init(selector: String, algorithm: String, publicKey: String, sealedPrivateKey: String, state: State,
                createdAt: Int64, retiresAt: Int64? = nil) {
        self.selector = selector
        self.algorithm = algorithm
        self.publicKey = publicKey
        self.sealedPrivateKey = sealedPrivateKey
        self.state = state
        self.createdAt = createdAt
        self.retiresAt = retiresAt
    }
}
