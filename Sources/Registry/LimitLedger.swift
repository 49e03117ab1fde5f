/// The limit accounting core (issue 11): counts sessions, messages and recipients per subject key
/// on this node, folds in what the other nodes reported through the replicated log, and answers
/// whether one more session, message or recipient fits every applicable limit.
///
/// Cluster-wide enforcement: a node's decision uses its own live counts plus every other node's
/// latest `NodeUsage`. Reports travel every sync interval, so the cluster may overshoot a limit by
/// what the other nodes accepted since their last report (at most their rate × one interval), and
/// per-second limits hold per node and only approximately across nodes. Remote connection counts
/// older than `remoteConnectionTTL` are ignored (a node that died leaks no sessions), which is why
/// `report` re-sends open-session counts every `heartbeatMillis`.
///
/// Pure: every time comes from the caller (`now`, ms since epoch). Not thread-safe; the shell keeps
/// it behind a lock.
public struct LimitLedger: Sendable {
    /// A subject key and the limits that apply to it.
    public struct Rule: Sendable, Equatable {
        public var key: String
        public var limits: SendingLimits
        /// Creates a rule. Any thread.
        public init(key: String, limits: SendingLimits) {
            self.key = key
            self.limits = limits
        }
    }

    /// Totals of one subject across the cluster.
    public struct Totals: Sendable, Equatable {
        public var messagesInSecond = 0, messagesInMinute = 0, messagesInDay = 0, recipientsInDay = 0, connections = 0
    }

    /// This node's id (its own reports are not folded in twice).
    public let node: String
    /// Remote session counts older than this (ms) are ignored.
    public var remoteConnectionTTL: Int64 = 30_000
    /// Open-session counts are re-reported at least this often (ms).
    public var heartbeatMillis: Int64 = 10_000
    /// This node's counters by subject key.
    public private(set) var local: [String: UsageCounters] = [:]
    private var remote: [String: NodeUsage] = [:]
    private var dirty: Set<String> = []
    private var exceeded: [String: String] = [:]
    private var lastReport: Int64 = 0

    /// An empty ledger for `node`. Any thread.
    public init(node: String) { self.node = node }

    /// Cluster-wide totals of `key` at `now`.
    public func totals(_ key: String, now: Int64) -> Totals {
        var t = Totals()
        func add(_ c: UsageCounters, connections: Bool) {
            t.messagesInSecond += c.messagesInSecond(now)
            t.messagesInMinute += c.messagesInMinute(now)
            t.messagesInDay += c.messagesInDay(now)
            t.recipientsInDay += c.recipientsInDay(now)
            if connections { t.connections += c.connections }
        }
        if let c = local[key] { add(c, connections: true) }
        for (n, usage) in remote where n != node {
            if let c = usage.subjects[key] { add(c, connections: now - usage.at <= remoteConnectionTTL) }
        }
        return t
    }

    /// Opens a session for the subjects of `rules` unless one is at its concurrent-session limit.
    /// On success the session counts until `closeConnection`.
    public mutating func openConnection(_ rules: [Rule], now: Int64) -> LimitRefusal? {
        for r in rules {
            if let max = r.limits.concurrentConnections, totals(r.key, now: now).connections >= max {
                return refuse(LimitRefusal(kind: .concurrentConnections, limit: max, key: r.key))
            }
        }
        for r in rules { local[r.key, default: UsageCounters()].connections += 1; dirty.insert(r.key) }
        return nil
    }

    /// Ends a session opened by `openConnection` with the same keys.
    public mutating func closeConnection(keys: [String]) {
        for k in keys where (local[k]?.connections ?? 0) > 0 {
            local[k]!.connections -= 1
            dirty.insert(k)
        }
    }

    /// Whether one more message fits the message-rate limits (checked at MAIL FROM; the message
    /// counts only once accepted, `recordMessage`).
    public mutating func admitMessage(_ rules: [Rule], now: Int64) -> LimitRefusal? {
        for r in rules {
            let t = totals(r.key, now: now)
            let checks: [(Int?, Int, LimitRefusal.Kind)] = [
                (r.limits.messagesPerSecond, t.messagesInSecond, .messagesPerSecond),
                (r.limits.messagesPerMinute, t.messagesInMinute, .messagesPerMinute),
                (r.limits.messagesPerDay, t.messagesInDay, .messagesPerDay),
            ]
            for (limit, count, kind) in checks {
                if let limit, count >= limit { return refuse(LimitRefusal(kind: kind, limit: limit, key: r.key)) }
            }
        }
        return nil
    }

    /// Whether one more recipient fits, with `inMessage` recipients already accepted for this message.
    public mutating func admitRecipient(_ rules: [Rule], inMessage: Int, now: Int64) -> LimitRefusal? {
        for r in rules {
            if let max = r.limits.recipientsPerMessage, inMessage >= max {
                return refuse(LimitRefusal(kind: .recipientsPerMessage, limit: max, key: r.key))
            }
            if let max = r.limits.recipientsPerDay, totals(r.key, now: now).recipientsInDay + inMessage >= max {
                return refuse(LimitRefusal(kind: .recipientsPerDay, limit: max, key: r.key))
            }
        }
        return nil
    }

    /// Counts an accepted message with `recipients` recipients against `keys`.
    public mutating func recordMessage(keys: [String], recipients: Int, now: Int64) {
        for k in keys {
            local[k, default: UsageCounters()].add(recipients: recipients, now: now)
            dirty.insert(k)
        }
    }

    /// The report to propose now: counters of the subjects that changed since the last report
    /// (and, every `heartbeatMillis`, of those with open sessions) plus the limits refused
    /// meanwhile; nil when there is nothing to say.
    public mutating func report(now: Int64) -> NodeUsage? {
        var keys = dirty
        if now - lastReport >= heartbeatMillis {
            for (k, c) in local where c.connections > 0 { keys.insert(k) }
        }
        guard !keys.isEmpty || !exceeded.isEmpty else { return nil }
        var subjects: [String: UsageCounters] = [:]
        for k in keys { subjects[k] = local[k] ?? UsageCounters() }
        let usage = NodeUsage(node: node, at: now, subjects: subjects, exceeded: exceeded)
        dirty = []
        exceeded = [:]
        lastReport = now
        // Forget idle subjects locally too.
        local = local.filter { $0.value.connections > 0 || $0.value.lastActivity > now - UsageCounters.dayMillis - UsageCounters.hourMillis }
        return usage
    }

    /// Folds in another node's stored usage (its record replaces what was known of it); this
    /// node's own record is ignored (its live counters are fresher).
    public mutating func absorb(_ usage: NodeUsage) {
        guard usage.node != node else { return }
        remote[usage.node] = usage
    }

    private mutating func refuse(_ r: LimitRefusal) -> LimitRefusal {
        exceeded[r.key] = r.description
        return r
    }
}
