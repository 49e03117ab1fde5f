import Registry

/// The complete configuration of one Sendarix node, read from a JSON file (see deploy/CONFIG.md).
///
/// Every key is optional; the property initial values below are the defaults. Build one with
/// `RelayConfig.load(path:)` (file), `RelayConfig.parse(data:baseDirectory:)` (bytes) or
/// `RelayConfig.embeddedDefault(dataDir:)` (no config). After loading, all file paths are absolute,
/// plain `users[].password` values have been replaced by `passwordHash`, and secret files
/// (`adminTokenFile`, `cluster.secretFile`, `routes[].auth.passwordFile`) have been read into the
/// corresponding non-JSON fields. Immutable value; safe to share between threads.
public struct RelayConfig: Sendable, Codable, Equatable {
    /// Identity of this node and where it keeps its data.
    public var node = Node()
    /// Listening addresses for every protocol.
    public var listen = Listen()
    /// Server certificate; nil means the node generates a self-signed one into `node.dataDir`.
    public var tls: TLS? = nil
    /// Other members of the cluster.
    public var cluster = Cluster()
    /// SMTP AUTH users.
    public var users: [User] = []
    /// Static routes that bypass MX lookup (smart hosts, tests).
    public var routes: [Route] = []
    /// DNS resolver used for MX/A lookups during delivery.
    public var resolver = Resolver()
    /// Bearer token for the admin API (read from `adminTokenFile` at load when that is given).
    public var adminToken: String? = nil
    /// File holding the admin token (absolute after load).
    public var adminTokenFile: String? = nil
    /// Bearer token for read-only admin access (GET requests only: health, queue, events, …).
    public var adminReadOnlyToken: String? = nil
    /// File holding the read-only admin token (absolute after load).
    public var adminReadOnlyTokenFile: String? = nil
    /// Bearer token that may read `GET /metrics` only (Prometheus scrapers); the admin tokens work too.
    public var metricsToken: String? = nil
    /// Authoritative DNS zone served on `listen.dns`; nil disables the responder's zone.
    public var dns: DNS? = nil
    /// Relay and abuse policy.
    public var policy = Policy()
    /// Protocol size limits.
    public var limits = Limits()
    /// SMTP server timeouts in seconds.
    public var timeouts = Timeouts()
    /// LMDB spool settings.
    public var spool = Spool()
    /// Outbound delivery settings.
    public var delivery = Delivery()
    /// Sending domains and DKIM signing.
    public var dkim = DKIM()
    /// Bearer-token (XOAUTH2/OAUTHBEARER) logins.
    public var oauth = OAuth()
    /// Webhook delivery (SSRF allowance, retry schedule, timeouts).
    public var webhooks = Webhooks()
    /// Asynchronous bounces (VERP), feedback loops and the receiver simulator.
    public var bounces = Bounces()
    /// Logging.
    public var log = Log()
    /// Sharing of per-tenant and per-credential limit counts (issue 11).
    public var sendingLimits = SendingLimitsSettings()
    /// Compromised-credential detection (issue 11).
    public var abuse = Abuse()
    /// Outbound spam scoring with rspamd (issue 11); nil: off.
    public var spamFilter: SpamFilter? = nil

    /// A configuration with every default (no users, no routes). Does not block.
    public init() {}

    /// `node`: identity and data directory.
    public struct Node: Sendable, Codable, Equatable {
        /// Unique node id within the cluster (letters, digits, `-`, `_`, `.`).
        public var id = "n1"
        /// Region name, used for regional DNS answers.
        public var region = "default"
        /// Public host name used in greetings and EHLO; nil means the machine's host name.
        public var hostname: String? = nil
        /// Directory for the spool, generated certificate and secrets (absolute after load).
        public var dataDir = "./sendarix-data"
        /// Creates the defaults.
        public init() {}
    }

    /// `listen`: addresses to bind. Lists may be empty to disable a service.
    public struct Listen: Sendable, Codable, Equatable {
        /// Submission with STARTTLS (RFC 6409).
        public var submission: [HostPort] = [HostPort(host: "0.0.0.0", port: 587)]
        /// Submission over implicit TLS (RFC 8314).
        public var smtps: [HostPort] = [HostPort(host: "0.0.0.0", port: 465)]
        /// MTA-to-MTA relay (port 25); unauthenticated clients may only send to local domains.
        public var relay: [HostPort] = []
        /// Admin HTTP API; nil (JSON `null`) disables it.
        public var admin: HostPort? = HostPort(host: "127.0.0.1", port: 8025)
        /// Authoritative DNS (UDP and TCP).
        public var dns: [HostPort] = []
        /// Peer (cluster) traffic; required when `cluster.peers` is not empty.
        public var peer: HostPort? = nil
        /// Serve the admin API over TLS (the node's certificate) instead of plain HTTP.
        public var adminTLS = false
        /// Creates the defaults.
        public init() {}

        enum CodingKeys: String, CodingKey { case submission, smtps, relay, admin, dns, peer, adminTLS }

        /// Encodes every key; a disabled admin API is written as `null` so it does not revert to the default.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(submission, forKey: .submission)
            try c.encode(smtps, forKey: .smtps)
            try c.encode(relay, forKey: .relay)
            try c.encode(admin, forKey: .admin)
            try c.encode(dns, forKey: .dns)
            try c.encodeIfPresent(peer, forKey: .peer)
        }
    }

    /// `tls`: server certificate and key, PEM files.
    public struct TLS: Sendable, Codable, Equatable {
        /// Certificate chain PEM path (absolute after load).
        public var certificate: String
        /// Private key PEM path (absolute after load).
        public var privateKey: String
        /// Creates a TLS section.
        public init(certificate: String, privateKey: String) {
            self.certificate = certificate
            self.privateKey = privateKey
        }
    }

    /// `cluster`: the other nodes.
    public struct Cluster: Sendable, Codable, Equatable {
        /// Other members (not including this node).
        public var peers: [Peer] = []
        /// File holding the shared secret that authenticates peer traffic (absolute after load).
        public var secretFile: String? = nil
        /// Contents of `secretFile` (whitespace-trimmed), filled in at load; not a JSON key.
        public var secret: String? = nil
        /// Mutual TLS for peer links; nil: frames cross the network in clear after the HMAC handshake.
        public var tls: ClusterTLS? = nil
        /// Region whose nodes should hold leadership (a leader elsewhere hands it to a healthy
        /// caught-up node there); nil: wherever the election puts it.
        public var preferredLeaderRegion: String? = nil
        /// This node joins a running cluster (`sendarix cluster add` on the leader): it starts as a
        /// non-voter whose initial voters are its peers, instead of a founding voter.
        public var join = false
        /// Bodies written once: the spool keeps a reference into the committed raft entry instead
        /// of a second copy of each body (`cluster.bodiesInLog`, default true).
        public var bodiesInLog = true
        /// Raft LMDB map size in MiB (address space, not disk) the raft store opens with.
        public var raftMapSizeMB = 32_768
        /// Largest size in MiB the raft map grows to by itself (bounded by the filesystem's free
        /// space). nil: 1 TiB (or `raftMapSizeMB` if larger); `raftMapSizeMB` keeps it fixed.
        public var raftMaxMapSizeMB: Int? = nil
        /// `raftMaxMapSizeMB`, or its default.
        public var effectiveRaftMaxMapSizeMB: Int { max(raftMapSizeMB, raftMaxMapSizeMB ?? 1_048_576) }
        /// Creates the defaults.
        public init() {}

        enum CodingKeys: String, CodingKey { case peers, secretFile, tls, preferredLeaderRegion, join }
    }

    /// `cluster.peers[]`: one other node.
    public struct Peer: Sendable, Codable, Equatable {
        /// The peer's node id.
        public var id: String
        /// The peer's `listen.peer` address.
        public var address: HostPort
        /// The peer's region.
        public var region: String
        /// Creates a peer entry.
        public init(id: String, address: HostPort, region: String = "default") {
            self.id = id
            self.address = address
            self.region = region
        }
    }

    /// `users[]`: an SMTP AUTH account.
    public struct User: Sendable, Codable, Equatable {
        /// Login name (case-sensitive).
        public var name: String
        /// Plain password as written in the file; nil after load (replaced by `passwordHash`).
        public var password: String? = nil
        /// `$pbkdf2-sha256$i=…$salt$hash` (see `PasswordHasher`); after load, for a plain `password`,
        /// its memory-only form (`PasswordHasher.memoryHash`, valid in this process only).
        public var passwordHash: String? = nil
        /// Tenant that messages from this user are accounted to.
        public var tenant = "default"
        /// Client networks this user may log in from; empty means anywhere.
        public var allowedNetworks: [IPNetwork] = []
        /// Source address pool (`delivery.pools[].name`) this user's mail leaves from; nil: the default.
        public var pool: String? = nil
        /// Sending limits of this credential; nil: none (the tenant's still apply).
        public var limits: SendingLimits? = nil
        /// Sandbox: this user's mail is accepted and produces events but goes to the receiver
        /// simulator, never out of the cluster.
        public var sandbox = false
        /// Creates a user.
        public init(name: String, password: String? = nil, passwordHash: String? = nil,
                    tenant: String = "default", allowedNetworks: [IPNetwork] = [], pool: String? = nil) {
            self.name = name
            self.password = password
            self.passwordHash = passwordHash
            self.tenant = tenant
            self.allowedNetworks = allowedNetworks
            self.pool = pool
        }
    }

    /// TLS policy for an outbound route.
    public enum RouteTLS: String, Sendable, Codable, CaseIterable {
        /// Plain text only, never STARTTLS.
        case none
        /// STARTTLS when offered, no certificate check; plain text otherwise.
        case opportunistic
        /// TLS required, certificate not verified.
        case required
        /// TLS required and the certificate must verify against the host name.
        case verify
    }

    /// `routes[]`: deliver a domain to fixed hosts instead of its MX.
    public struct Route: Sendable, Codable, Equatable {
        /// Recipient domain (lowercased), or `*` for every domain (smart host).
        public var domain: String
        /// Hosts tried in order (port defaults to 25 when omitted).
        public var hosts: [HostPort]
        /// TLS policy.
        public var tls: RouteTLS = .opportunistic
        /// Connect with implicit TLS (port 465 style) instead of STARTTLS.
        public var implicitTLS = false
        /// SMTP AUTH towards the smart host.
        public var auth: RouteAuth? = nil
        /// Source address pool for mail on this route (wins over the sender's `users[].pool`).
        public var pool: String? = nil
        /// Creates a route.
        public init(domain: String, hosts: [HostPort], tls: RouteTLS = .opportunistic,
                    implicitTLS: Bool = false, auth: RouteAuth? = nil, pool: String? = nil) {
            self.domain = domain
            self.hosts = hosts
            self.tls = tls
            self.implicitTLS = implicitTLS
            self.auth = auth
            self.pool = pool
        }
    }

    /// `routes[].auth`: credentials for a smart host.
    public struct RouteAuth: Sendable, Codable, Equatable {
        /// Login name.
        public var username: String
        /// File holding the password (absolute after load).
        public var passwordFile: String
        /// Contents of `passwordFile` (trailing newline removed), filled in at load; not a JSON key.
        public var password: String? = nil
        /// Creates route credentials.
        public init(username: String, passwordFile: String, password: String? = nil) {
            self.username = username
            self.passwordFile = passwordFile
            self.password = password
        }

        enum CodingKeys: String, CodingKey { case username, passwordFile }
    }

    /// `resolver`: DNS servers for delivery lookups.
    public struct Resolver: Sendable, Codable, Equatable {
        /// Servers to query (port defaults to 53); empty means `/etc/resolv.conf`.
        public var nameservers: [HostPort] = []
        /// Per-query timeout in milliseconds.
        public var timeoutMs = 2000
        /// Creates the defaults.
        public init() {}
    }

    /// `dns`: the cluster's authoritative zone.
    public struct DNS: Sendable, Codable, Equatable {
        /// Zone apex, e.g. `relay.example`.
        public var zone: String
        /// Name answering with the healthy nodes, e.g. `smtp.relay.example`; must be inside `zone`.
        public var ingressName: String
        /// TTL of answers in seconds.
        public var ttl = 60
        /// Region name → client networks that should get that region's nodes first.
        public var regions: [String: [IPNetwork]] = [:]
        /// UDP response rate limiting (on by default).
        public var rateLimit = RateLimit()
        /// Creates a DNS section.
        public init(zone: String, ingressName: String, ttl: Int = 60, regions: [String: [IPNetwork]] = [:]) {
            self.zone = zone
            self.ingressName = ingressName
            self.ttl = ttl
            self.regions = regions
        }
    }

    /// `policy`: relay permissions and abuse limits.
    public struct Policy: Sendable, Codable, Equatable {
        /// Domains this relay accepts mail for from unauthenticated clients (lowercased).
        public var localDomains: [String] = []
        /// Networks allowed to relay without AUTH.
        public var trustedNetworks: [IPNetwork] = []
        /// Concurrent connections allowed from one client address.
        public var maxConnectionsPerIP = 100
        /// Failed AUTH attempts per client address within the window before it is throttled.
        public var maxAuthFailuresPerIP = 10
        /// Length of the AUTH failure window in seconds.
        public var authFailureWindowSeconds = 300
        /// IPv6 clients are counted per prefix of this length for `maxConnectionsPerIP` and
        /// `maxAuthFailuresPerIP` (one host usually controls a whole /64); IPv4 clients per address.
        public var ipv6PrefixLength = 64
        /// Creates the defaults.
        public init() {}
    }

    /// `limits`: protocol bounds.
    public struct Limits: Sendable, Codable, Equatable {
        /// Largest message accepted, bytes (advertised in EHLO SIZE).
        public var maxMessageSize = 52_428_800
        /// Upper bound of `maxMessageSize`: 200 MiB, so a message with its envelope fits in one
        /// replicated log entry (`RaftLog.maxEntryBytes`, 255 MiB).
        public static let maxReplicatedMessageSize = 200 << 20
        /// Recipients per message.
        public var maxRecipients = 1000
        /// Protocol errors per session before disconnect.
        public var maxErrors = 10
        /// Longest DATA line in bytes excluding CRLF (RFC 5321: 998).
        public var maxDataLineLength = 998
        /// Concurrent SMTP connections per node.
        public var maxConnections = 10_000
        /// Memory all sessions together may hold for message bodies being received, MiB; past it new
        /// bodies get a temporary `452 4.3.1`.
        public var messageMemoryMB = 1024
        /// `Received` fields a message may already carry (RFC 5321 §6.3); a message with more is taken
        /// as a mail loop and refused with `554 5.4.6`.
        public var maxHops = 100
        /// AUTH checks (PBKDF2) waiting for one of the node's verification threads (one per core);
        /// past it AUTH gets `454 4.7.0 Temporary authentication failure`.
        public var maxPendingAuth = 64
        /// Creates the defaults.
        public init() {}
    }

    /// `timeouts`: SMTP server timeouts in seconds (RFC 5321 §4.5.3.2 minimums are the defaults).
    public struct Timeouts: Sendable, Codable, Equatable {
        /// Waiting for a command.
        public var command = 300
        /// Waiting for the next chunk of DATA.
        public var dataBlock = 180
        /// Longest wait for an AUTH check or the durable enqueue before the server replies to the client.
        public var dataTermination = 600
        /// Creates the defaults.
        public init() {}
    }

    /// `spool`: LMDB settings.
    public struct Spool: Sendable, Codable, Equatable {
        /// LMDB map size in MiB (address space reserved, not disk used).
        public var mapSizeMB = 16_384
        /// Largest size in MiB the map grows to by itself when it runs low (bounded by the
        /// filesystem's free space). nil: 1 TiB (or `mapSizeMB` if larger); `mapSizeMB` keeps it fixed.
        public var maxMapSizeMB: Int? = nil
        /// `maxMapSizeMB`, or its default.
        public var effectiveMaxMapSizeMB: Int { max(mapSizeMB, maxMapSizeMB ?? 1_048_576) }
        /// fsync each commit; turning it off can lose accepted mail on power failure.
        public var fsync = true
        /// Nice value of the threads every accept waits on in turn (the single-node spool writer;
        /// in a cluster the raft loop and the raft applier), so that on a busy machine they run as
        /// soon as they can. Below the process's nice value needs CAP_SYS_NICE or `LimitNICE=`
        /// (systemd); without it the node warns once and leaves them at the process's value. 0: left alone.
        public var writerNice = -10
        /// Events older than this many hours are pruned (in bounded batches, once a minute).
        public var eventRetentionHours = 168
        /// Per-tenant event retention in hours (shorter or longer than `eventRetentionHours`; the
        /// global retention still prunes every event once it is that old).
        public var tenantEventRetentionHours: [String: Int] = [:]
        /// Space in MiB kept free for what frees space (outcomes, deletes, claims): new messages get
        /// `452 4.3.1` once less than this is left. nil: an eighth of the map, at most 1024 MiB.
        public var reserveMB: Int? = nil
        /// `reserveMB`, or its default for `mapSizeMB`.
        public var effectiveReserveMB: Int { reserveMB ?? min(1_024, max(1, mapSizeMB / 8)) }
        /// Creates the defaults.
        public init() {}
    }

    /// `delivery`: outbound SMTP.
    public struct Delivery: Sendable, Codable, Equatable {
        /// Deliver queued mail (false keeps everything queued).
        public var enabled = true
        /// Give up and bounce after this many seconds in the queue.
        public var maxLifetimeSeconds = 432_000
        /// Name sent in EHLO; nil means `node.hostname`.
        public var heloName: String? = nil
        /// Local addresses to bind outgoing connections to (round-robin); empty means the default.
        /// These are taken as warm (uncapped); cold addresses go in `warmup.addresses`.
        public var sourceAddresses: [IPAddress] = []
        /// Seconds to wait for a TCP connect before failing over to the next address or host.
        public var connectTimeoutSeconds: Double = 5
        /// Upper bound on every reply wait of the SMTP client (RFC 5321 timeouts), and on a TLS handshake.
        public var commandTimeoutSeconds: Double = 300
        /// Seconds an idle outbound connection is kept open for reuse before QUIT.
        public var idleTimeoutSeconds: Double = 5
        /// Length of a delivery lease (claim) in seconds; another node may take the message after it.
        /// Attempts renew it every third of its length while they run, so it bounds how long a dead
        /// node's messages wait, not how long a transfer may take.
        public var leaseSeconds = 10
        /// Delay in seconds after the 1st, 2nd, … failed attempt; the last step repeats.
        public var retrySchedule: [Int] = [60, 300, 900, 1_800, 3_600, 7_200, 14_400]
        /// Relative random spread applied to each retry delay (0.1 = ±10 %).
        public var retryJitter: Double = 0.1
        /// Send a failure DSN (bounce mail) when the recipient gave no NOTIFY parameter.
        public var notifyByDefault = false
        /// PEM file of trust anchors for routes with `tls: "verify"` instead of the system store (absolute after load).
        public var caFile: String? = nil
        /// TCP port used for MX hosts (25; tests point it at their own receivers).
        public var mxPort = 25
        /// Most messages in delivery (claimed, not yet recorded) at once on this node.
        public var maxInFlight = 2_000
        /// The delivery scheduler's CPU priority against the SMTP listeners when the CPU is short:
        /// `background` (nice 10, the default), `utility` (nice 2) or `default` (nice 0, an equal
        /// share). Clients waiting on an SMTP session come first; queued mail is already durable
        /// and goes out as CPU frees up. SMTP I/O of deliveries runs on the event loops either way.
        public var schedulerPriority = "background"
        /// Apply the provider message rate to static routes (smart hosts) too.
        public var rateLimitStaticRoutes = false
        /// Per-host circuit breaker.
        public var circuitBreaker = CircuitBreaker()
        /// Seconds a host whose STARTTLS failed is contacted without TLS (opportunistic routes only).
        public var brokenTLSSeconds = 3_600
        /// Connection and rate limits per receiving provider.
        public var shaping = Shaping()
        /// Adaptive slow-down on rate-limit and reputation replies.
        public var throttle = Throttle()
        /// Source addresses still warming up and their daily caps.
        public var warmup = Warmup()
        /// Named pools of source addresses besides the default pool (`sourceAddresses`); mail uses
        /// one through `routes[].pool` or `users[].pool`.
        public var pools: [SourcePool] = []
        /// Outbound MTA-STS (RFC 8461) and TLS reporting (RFC 8460) for MX delivery.
        public var mtaSts = MTASTS()
        /// Creates the defaults.
        public init() {}
    }

    /// Log verbosity.
    public enum LogLevel: String, Sendable, Codable, CaseIterable, Comparable {
        case trace, debug, info, notice, warning, error, critical

        /// Orders by severity (trace lowest).
        public static func < (a: LogLevel, b: LogLevel) -> Bool {
            let all = LogLevel.allCases
            return all.firstIndex(of: a)! < all.firstIndex(of: b)!
        }
    }

    /// `log`: logging.
    public struct Log: Sendable, Codable, Equatable {
        /// Minimum level written.
        public var level: LogLevel = .info
        /// Creates the defaults.
        public init() {}
    }
}
