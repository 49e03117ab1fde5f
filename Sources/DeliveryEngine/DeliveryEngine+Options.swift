import DeliveryCore
import Foundation
import RelayConfig
import SendarixSupport

extension DeliveryEngine {
    /// Tunables of the delivery shell that the configuration file does not (yet) carry. The
    /// defaults are production values; tests shorten the timeouts and retry steps.
    public struct Options: Sendable {
        /// Seconds to wait for a TCP connect before failing over to the next address/host (5 s).
        public var connectTimeout: Double = 5
        /// The source pool of an API-managed credential by user name (after routes and config users).
        public var credentialPool: (@Sendable (String) -> String?)? = nil
        /// Upper bound on the RFC 5321 reply timeouts (seconds); also bounds a TLS handshake.
        public var replyTimeoutCap: Double = 300
        /// Seconds an idle pooled connection is kept open for reuse before QUIT.
        public var idleTimeout: Double = 5
        /// Lease length of a claim in seconds (another node may take the message after it). Short,
        /// so a dead node's messages move on quickly; attempts renew it while they run.
        public var leaseSeconds: Double = 10
        /// This process's incarnation, recorded in its leases (random per start when nil), so a
        /// restarted node tells its predecessor's leases from its own.
        public var incarnation: UInt64? = nil
        /// Most messages in flight (claimed and not yet recorded) at once.
        public var maxInFlight = 2_000
        /// The scheduler queue's quality of service: libdispatch runs it at nice 10 (`.background`),
        /// 2 (`.utility`) or 0 (`.default`) on Linux (`delivery.schedulerPriority`).
        public var schedulerQoS: DispatchQoS = .background
        /// Messages fetched from the due index per scheduler pass.
        public var batchSize = 500
        /// Retry steps in seconds after the 1st, 2nd, … failure (the last repeats).
        public var retrySteps: [Double] = RetrySchedule.defaultSteps
        /// Relative jitter of retry delays.
        public var retryJitter: Double = 0.1
        /// Seconds before retrying an attempt this node ended itself (its delivery lease ran out
        /// before the body could leave), whatever the retry steps: the receiver said nothing.
        public var localRetrySeconds: Double = RetrySchedule.defaultLocalRetryDelay
        /// Node decisions per message: VERP return paths, sandbox and simulator routing.
        public var hooks = Hooks()
        /// Port used for MX hosts (25; tests point it at their fake receivers).
        public var mxPort: UInt16 = 25
        /// HTTPS port of MTA-STS policy hosts (443; tests point it at their own server).
        public var mtaSTSPort: UInt16 = 443
        /// CA file for the `verify` TLS policy instead of the system store (tests); defaults to the
        /// environment variable `SENDARIX_TEST_CA_FILE` when set.
        public var caFile: String? = ProcessInfo.processInfo.environment["SENDARIX_TEST_CA_FILE"]
        /// Per-provider shaping overrides (connections, messages per connection, rates).
        public var shaping = ShapingPolicy.Configuration()
        /// Apply the message-rate limit to static routes (smart hosts) too; off by default, since
        /// the operator chose the smart host (connection and per-connection limits still apply).
        public var rateLimitStaticRoutes = false
        /// Longest wait between scheduler passes with nothing due sooner: a safety net, since
        /// new mail (accepted here or applied from another member), reschedules and finished
        /// attempts wake the scheduler. `SENDARIX_IDLE_POLL_SECONDS` overrides it (tests that
        /// check nothing relies on the poll).
        /// The scheduler clamps it to 0.05–3,600 s (30 when not a finite number).
        public var idlePollSeconds = ProcessInfo.processInfo.environment["SENDARIX_IDLE_POLL_SECONDS"].flatMap { Double($0) } ?? 30
        /// Consecutive connection failures that open a host's circuit breaker.
        public var breakerThreshold = 5
        /// Seconds a host's circuit breaker stays open at first.
        public var breakerOpenSeconds: Double = 60
        /// Longest open period of a host's circuit breaker (it doubles after each failed probe):
        /// after an outage, delivery resumes within this many seconds of the host's recovery.
        public var breakerMaxOpenSeconds: Double = 300
        /// Most messages parked in memory while their destination is down (see
        /// `DestinationParking`); 0 turns parking off (every due retry is claimed and attempted).
        /// `SENDARIX_MAX_PARKED` overrides the default (benchmarks of the postpone path).
        public var maxParked = ProcessInfo.processInfo.environment["SENDARIX_MAX_PARKED"].flatMap { Int($0) } ?? 500_000
        /// Beyond `maxParked`, seconds a message of a down destination is postponed by, durably and
        /// in batches (at least to the destination's next probe); 0 claims it as usual.
        public var parkingPostponeSeconds: Double = 300
        /// Most postponed messages planned to come due again per second (see
        /// `DestinationParking.Configuration.postponeRate`); 0 gives each its earliest time.
        /// `SENDARIX_POSTPONE_RATE` overrides the default (benchmarks).
        public var parkingPostponeRate = ProcessInfo.processInfo.environment["SENDARIX_POSTPONE_RATE"].flatMap { Int($0) } ?? 500
        /// When a destination comes back, most of its postponed messages pulled forward and in
        /// flight at once (see `RecoveryDrain`; the pull then follows its shaped rate); 0: no pull,
        /// postponed mail waits for its postponed time. `SENDARIX_RECOVERY_PULL` overrides it.
        public var recoveryPullAhead = ProcessInfo.processInfo.environment["SENDARIX_RECOVERY_PULL"].flatMap { Int($0) } ?? 64
        /// Whether mail received since its destination came back is claimed first and served in
        /// turns with the backlog at the rate limiter (`FairLine`). `SENDARIX_FRESH_LANE=0` turns
        /// it off (benchmark baselines).
        public var freshLane = ProcessInfo.processInfo.environment["SENDARIX_FRESH_LANE"] != "0"
        /// Seconds a host whose opportunistic TLS failed is contacted without STARTTLS.
        public var brokenTLSSeconds: Double = 3_600
        /// The default source pool, replacing the one built from `delivery.sourceAddresses` and
        /// `delivery.warmup.addresses` (tests).
        public var sourceIPs: [IPWarmup.SourceIP]? = nil
        /// Named source pools, replacing those built from `delivery.pools` and the warm-up
        /// addresses that name a pool (tests).
        public var sourcePools: [String: [IPWarmup.SourceIP]]? = nil
        /// Daily message caps of a cold source address, day by day of its warm-up.
        public var warmupDailyCaps = IPWarmup.defaultDailyCaps
        /// Threads running blocking DNS lookups.
        public var dnsThreads = 8
        /// Seconds `stop()` waits for attempts in flight to record their outcomes.
        public var stopTimeout: Double = 10
        /// Send a failure DSN when the recipient gave no NOTIFY parameter (RFC 3461 default);
        /// off: only explicit NOTIFY=FAILURE/SUCCESS produce notifications.
        public var notifyByDefault = false
        /// Adaptive throttle tunables (slow-down and suspension on rate-limit replies).
        public var throttle = AdaptiveThrottle.Configuration()
        /// Cluster mode: names the node that should deliver a recipient domain (e.g.
        /// `RaftLog.preferredOwner(for:)`); messages whose first due domain maps elsewhere (or to
        /// nil) are left to that node unless their lease expired more than `orphanGraceSeconds`
        /// ago. nil (single node): this node delivers everything.
        public var preferredOwner: (@Sendable (_ domain: String) -> String?)? = nil
        /// Seconds after a lease expired before a node other than the domain's preferred owner
        /// takes the message over (the preferred owner takes it at expiry).
        public var orphanGraceSeconds: Double = 2
        /// Cluster mode: a due message found to be another node's work is read again after at most
        /// this many seconds (passes in between skip it without a read; `ForeignClaims`). It bounds
        /// how late a node sees a change the domain lookup cannot show, such as a lease that was
        /// claimed and then orphaned.
        public var foreignRecheckSeconds: Double = 1
        /// The wall clock in milliseconds since the epoch (injectable for tests).
        public var clock: @Sendable () -> Int64 = { WallClock.nowMillis() }

        /// Production defaults. Pure; any caller.
        public init() {}

        /// Name of the pool of `delivery.sourceAddresses` and the warm-up addresses without a pool.
        public static let defaultPool = "default"

        /// The source pools `config` describes, by name (`defaultPool` included): each pool's warm
        /// addresses, then its warm-up addresses with their start. Pure; any caller.
        public static func sourcePools(for config: RelayConfig) -> [String: [IPWarmup.SourceIP]] {
            let d = config.delivery
            func cold(_ pool: String?) -> [IPWarmup.SourceIP] {
                d.warmup.addresses.filter { $0.pool == pool }
                    .map { IPWarmup.SourceIP($0.address.description, warmupStartedAt: $0.startSeconds) }
            }
            var pools = [defaultPool: d.sourceAddresses.map { IPWarmup.SourceIP($0.description) } + cold(nil)]
            for pool in d.pools {
                pools[pool.name, default: []] += pool.addresses.map { IPWarmup.SourceIP($0.description) } + cold(pool.name)
            }
            return pools
        }
    }
}
