/// An SMTP credential of a tenant, managed through the admin API and stored in the replicated
/// control plane: the same on every node, effective everywhere as soon as its command is applied.
/// Passwords are kept only as PBKDF2 hashes; during a rotation's grace period two are valid.
/// Pure value; any thread.
public struct Credential: Codable, Sendable, Equatable {
    /// Whether the credential may log in.
    public enum State: String, Codable, Sendable, Equatable, CaseIterable {
        /// Logs in and sends.
        case active
        /// Refused (`535 5.7.8` naming the reason) until resumed.
        case suspended
    }

    /// One valid password, as its hash.
    public struct Password: Codable, Sendable, Equatable {
        /// `$pbkdf2-sha256$i=N$salt$hash`.
        public var hash: String
        /// ms since the epoch.
        public var createdAt: Int64
        /// When set, the password stops working at this time (ms): the old password of a rotation.
        public var expiresAt: Int64?

        /// Creates a password entry. Any thread.
        public init(hash: String, createdAt: Int64, expiresAt: Int64? = nil) {
            self.hash = hash
            self.createdAt = createdAt
            self.expiresAt = expiresAt
        }

        /// True while the password may be used at `now` (ms).
        public func isValid(at now: Int64) -> Bool { expiresAt.map { now < $0 } ?? true }
    }

    /// The login name; unique across tenants (SMTP AUTH carries no tenant).
    public var username: String
    public var tenant: String
    /// Valid passwords, oldest first (two during a rotation's grace period).
    public var passwords: [Password]
    public var state: State
    /// Why the credential is suspended (empty when active).
    public var stateReason: String
    /// CIDR networks the credential may log in from; empty: anywhere.
    public var allowedNetworks: [String]
    /// Domains (lower case) its mail may come from (envelope sender and From header, subdomains
    /// included); empty: any domain the tenant's sender policy allows.
    public var allowedSenderDomains: [String]
    /// Source address pool (`delivery.pools[].name`) its mail leaves from; nil: the default.
    public var sourcePool: String?
    /// Its own sending limits (enforced by the limits layer); nil: only the tenant's.
    public var limits: SendingLimits?
    /// A free label such as `production` or `staging`.
    public var environment: String?
    /// A trusted platform credential may name the tenant of each message (header
    /// `X-Sendarix-Tenant` or a `+tenant=T` subaddress of the envelope sender).
    public var platform: Bool?
    /// ms since the epoch.
    public var createdAt: Int64
    /// Last successful login, ms (recorded at most about once a minute per node).
    public var lastUsedAt: Int64?
    /// The client address of that login.
    public var lastUsedIP: String?

    /// Creates a credential. Any thread.
    public init(username: String, tenant: String, passwords: [Password], state: State = .active, stateReason: String = "",
                allowedNetworks: [String] = [], allowedSenderDomains: [String] = [], sourcePool: String? = nil,
                limits: SendingLimits? = nil, environment: String? = nil, platform: Bool? = nil, createdAt: Int64,
                lastUsedAt: Int64? = nil, lastUsedIP: String? = nil) {
        self.username = username
        self.tenant = tenant
        self.passwords = passwords
        self.state = state
        self.stateReason = stateReason
        self.allowedNetworks = allowedNetworks
        self.allowedSenderDomains = allowedSenderDomains
        self.sourcePool = sourcePool
        self.limits = limits
        self.environment = environment
        self.platform = platform
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.lastUsedIP = lastUsedIP
    }

    /// What an operator sets on a credential besides its passwords and state.
    public struct Settings: Sendable, Equatable {
        public var allowedNetworks: [String] = []
        public var allowedSenderDomains: [String] = []
        public var sourcePool: String?
        public var limits: SendingLimits?
        public var environment: String?
        public var platform: Bool?
        /// Creates empty settings. Any thread.
        public init() {}
    }

    /// The operator's settings of this credential.
    public var settings: Settings {
        get {
            var s = Settings()
            (s.allowedNetworks, s.allowedSenderDomains, s.sourcePool) = (allowedNetworks, allowedSenderDomains, sourcePool)
            (s.limits, s.environment, s.platform) = (limits, environment, platform)
            return s
        }
        set {
            (allowedNetworks, allowedSenderDomains, sourcePool) = (newValue.allowedNetworks, newValue.allowedSenderDomains, newValue.sourcePool)
            (limits, environment, platform) = (newValue.limits, newValue.environment, newValue.platform)
        }
    }

    /// The passwords that log in at `now` (ms).
    public func validPasswords(at now: Int64) -> [Password] { passwords.filter { $0.isValid(at: now) } }

    /// True when this is a trusted platform credential.
    public var isPlatform: Bool { platform ?? false }

    /// True when mail from `domain` is allowed: no list, or `domain` is a listed domain or a
    /// subdomain of one.
    public func allowsSender(domain: String) -> Bool {
        guard !allowedSenderDomains.isEmpty else { return true }
        let d = domain.lowercased()
        return allowedSenderDomains.contains { d == $0 || d.hasSuffix("." + $0) }
    }

    /// Longest user name accepted.
    public static let maxUsernameLength = 128

    /// True for 1-128 bytes of letters, digits and `. _ - @ +`.
    public static func isValidUsername(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard !u.isEmpty, u.count <= maxUsernameLength else { return false }
        return u.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39)
            || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D || $0 == 0x40 || $0 == 0x2B }
    }
}
