/// Leadership preference for a region (`cluster.preferredLeaderRegion`): the pure decision of
/// whether a leader outside the preferred region should hand leadership to a member inside it.
///
/// Rules (deterministic; no clocks read here, the caller passes `now` in seconds):
/// - Nothing to do when no member is preferred, this node is not the leader, or this node is
///   itself preferred (a preferred leader never hands leadership away, so two preferred nodes
///   cannot pass it back and forth).
/// - Hysteresis: the leader must have led for `settleSeconds`, the last attempt must be at least
///   `retrySeconds` ago, and the target must have been healthy (connected, heard from within
///   `contactMillis`) without a break for `healthySeconds`, so a flapping node in the preferred
///   region does not pull leadership back and forth.
/// - The target must be a preferred voter (not a learner) at most `maxLag` entries behind.
/// - Among eligible targets: the smallest lag, then the smallest id.
/// Pure value; any thread.
public struct LeaderPreference: Sendable, Equatable {
    /// What the leader should do.
    public enum Decision: Sendable, Equatable {
        /// Transfer leadership to this member.
        case transfer(to: String)
        /// Keep leading (or not leading); the reason is for logs and tests.
        case stay(String)
    }

    /// One other member as the leader sees it.
    public struct Member: Sendable, Equatable {
        /// Node id.
        public var id: String
        /// Voting member (learners are never targets).
        public var isVoter: Bool
        /// Control lane up.
        public var connected: Bool
        /// Milliseconds since it was last heard from; nil if never.
        public var lastContactMillis: UInt64?
        /// Entries behind the leader's last index.
        public var lag: UInt64
        /// Since when (seconds, caller's clock) it has been continuously healthy; nil when not healthy now.
        public var healthySince: Double?

        /// Creates a member view. Pure.
        public init(id: String, isVoter: Bool = true, connected: Bool = true, lastContactMillis: UInt64? = 0,
                    lag: UInt64 = 0, healthySince: Double? = 0) {
            self.id = id
            self.isVoter = isVoter
            self.connected = connected
            self.lastContactMillis = lastContactMillis
            self.lag = lag
            self.healthySince = healthySince
        }
    }

    /// Member ids in the preferred region (may include this node).
    public var preferred: Set<String>
    /// The leader must have led this long before it hands leadership on.
    public var settleSeconds: Double = 5
    /// The target must have been healthy without a break this long.
    public var healthySeconds: Double = 10
    /// Seconds between two attempts (a failed transfer is retried no sooner).
    public var retrySeconds: Double = 15
    /// A member heard from longer ago than this is not healthy.
    public var contactMillis: UInt64 = 2_000
    /// Most entries a target may be behind.
    public var maxLag: UInt64 = 1_000

    /// Creates a preference for the given member ids. Pure.
    public init(preferred: Set<String>) {
        self.preferred = preferred
    }

    /// Whether `member` counts as healthy now (for tracking `healthySince`). Pure.
    public func isHealthy(_ member: Member) -> Bool {
        guard member.connected, let contact = member.lastContactMillis else { return false }
        return contact <= contactMillis
    }

    /// The decision for node `selfID`. `leaderSince`/`lastAttempt`/`now` are seconds on one clock
    /// (`leaderSince` nil when not leading, `lastAttempt` nil when never tried). Pure.
    public func decide(selfID: String, leaderSince: Double?, lastAttempt: Double?, now: Double,
                       members: [Member]) -> Decision {
        guard !preferred.isEmpty else { return .stay("no preferred region") }
        guard let leaderSince else { return .stay("not the leader") }
        if preferred.contains(selfID) { return .stay("leader is in the preferred region") }
        if now - leaderSince < settleSeconds { return .stay("leader not settled") }
        if let lastAttempt, now - lastAttempt < retrySeconds { return .stay("attempted recently") }
        let eligible = members.filter { m in
            guard preferred.contains(m.id), m.isVoter, isHealthy(m), m.lag <= maxLag,
                  let since = m.healthySince else { return false }
            return now - since >= healthySeconds
        }
        guard let best = eligible.min(by: { ($0.lag, $0.id) < ($1.lag, $1.id) }) else {
            return .stay("no healthy caught-up member in the preferred region")
        }
        return .transfer(to: best.id)
    }
}
