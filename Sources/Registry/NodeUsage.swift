/// One node's share of the sending counted against limits, as reported through the replicated log
/// (`LimitsCommand.usage`) so that every node sees what the others accepted. Each node counts
/// locally in time buckets (`UsageCounters`) and every sync interval proposes the counters of the
/// subjects that changed; the control plane keeps, per node, the latest counters of each subject
/// (`merging`). Pure value; any thread.
public struct NodeUsage: Codable, Sendable, Equatable {
    /// The reporting node's id.
    public var node: String
    /// When the report was made (ms since epoch, the reporting node's clock).
    public var at: Int64
    /// Counters by limit subject key (`LimitSubject.keys`).
    public var subjects: [String: UsageCounters]
    /// Limits refused since the previous report: subject key → what was exceeded (one line each).
    /// Turned into `limit.exceeded` events; never stored.
    public var exceeded: [String: String]

    /// Creates a report. Any thread.
    public init(node: String, at: Int64, subjects: [String: UsageCounters] = [:], exceeded: [String: String] = [:]) {
        self.node = node
        self.at = at
        self.subjects = subjects
        self.exceeded = exceeded
    }

    /// This record updated by a newer report of the same node: the newer counters of each subject
    /// replace the older, subjects idle for a day with no connection open are dropped, and
    /// `exceeded` is cleared (it is only carried to the events).
    public func merging(_ newer: NodeUsage) -> NodeUsage {
        var out = NodeUsage(node: node, at: max(at, newer.at), subjects: subjects)
        for (k, v) in newer.subjects { out.subjects[k] = v }
        let dayAgo = out.at - UsageCounters.dayMillis - UsageCounters.hourMillis
        out.subjects = out.subjects.filter { $0.value.connections > 0 || $0.value.lastActivity > dayAgo }
        return out
    }
}

/// Counts of one limit subject on one node, in fixed time buckets: the current second, the current
/// minute and the last 24 hours by hour. Pure value; any thread.
public struct UsageCounters: Codable, Sendable, Equatable {
    /// One bucket: its start (ms since epoch), messages and recipients accepted in it.
    public struct Bucket: Codable, Sendable, Equatable {
        public var start: Int64
        public var messages: Int
        public var recipients: Int
    }
    static let secondMillis: Int64 = 1000, minuteMillis: Int64 = 60_000
    static let hourMillis: Int64 = 3_600_000, dayMillis: Int64 = 86_400_000

    /// The latest second bucket.
    public var second = Bucket(start: 0, messages: 0, recipients: 0)
    /// The latest minute bucket.
    public var minute = Bucket(start: 0, messages: 0, recipients: 0)
    /// Hour buckets, oldest first, covering at most the last 25 hours.
    public var hours: [Bucket] = []
    /// SMTP sessions open now.
    public var connections = 0
    /// Start of the latest bucket with activity (ms).
    public var lastActivity: Int64 = 0

    /// Empty counters. Any thread.
    public init() {}

    /// Adds one message with `recipients` recipients accepted at `now` (ms).
    public mutating func add(recipients: Int, now: Int64) {
        let s = now - now % Self.secondMillis, m = now - now % Self.minuteMillis, h = now - now % Self.hourMillis
        if second.start != s { second = Bucket(start: s, messages: 0, recipients: 0) }
        if minute.start != m { minute = Bucket(start: m, messages: 0, recipients: 0) }
        second.messages += 1
        second.recipients += recipients
        minute.messages += 1
        minute.recipients += recipients
        if hours.last?.start != h { hours.append(Bucket(start: h, messages: 0, recipients: 0)) }
        hours[hours.count - 1].messages += 1
        hours[hours.count - 1].recipients += recipients
        hours.removeAll { $0.start <= h - Self.dayMillis }
        lastActivity = now
    }

    /// Messages accepted in the second of `now`.
    public func messagesInSecond(_ now: Int64) -> Int { second.start == now - now % Self.secondMillis ? second.messages : 0 }
    /// Messages accepted in the minute of `now`.
    public func messagesInMinute(_ now: Int64) -> Int { minute.start == now - now % Self.minuteMillis ? minute.messages : 0 }
    /// Messages accepted in the 24 hours up to `now` (by hour: the current hour and the 23 before).
    public func messagesInDay(_ now: Int64) -> Int { dayBuckets(now).reduce(0) { $0 + $1.messages } }
    /// Recipients accepted in the 24 hours up to `now` (by hour).
    public func recipientsInDay(_ now: Int64) -> Int { dayBuckets(now).reduce(0) { $0 + $1.recipients } }

    private func dayBuckets(_ now: Int64) -> [Bucket] {
        let h = now - now % Self.hourMillis
        return hours.filter { $0.start > h - Self.dayMillis && $0.start <= h }
    }
}
