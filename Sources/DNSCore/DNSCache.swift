/// TTL cache of lookup outcomes keyed by (name, type), with an injected clock.
///
/// `now` is seconds on any monotonic scale the caller chooses; the cache never reads a clock.
/// Zero TTLs are not cached; failures only for `failureTTL` seconds (0 = never), so a dead
/// domain does not make every caller wait out the timeouts again; TTLs are capped at `maxTTL`. When full, expired
/// entries are purged first, then the entries closest to expiry. Value type: wrap it in a lock to
/// share between threads (DNSService's resolver does).
public struct DNSCache: Sendable {
    /// Cache key.
    public struct Key: Hashable, Sendable {
        public var name: DNSName
        public var type: DNSRecordType
        /// Creates a key. Pure.
        public init(name: DNSName, type: DNSRecordType) {
            self.name = name
            self.type = type
        }
    }

    private struct Entry: Sendable {
        var outcome: DNSLookup.Outcome
        var expires: Double
    }

    private var entries: [Key: Entry] = [:]
    /// Maximum number of entries.
    public let capacity: Int
    /// Upper bound on any cached TTL, seconds.
    public let maxTTL: Double
    /// Seconds a temporary failure is remembered (0 = not cached).
    public let failureTTL: Double

    /// Creates an empty cache. Pure.
    public init(capacity: Int = 10_000, maxTTL: Double = 86_400, failureTTL: Double = 0) {
        self.capacity = max(1, capacity)
        self.maxTTL = maxTTL
        self.failureTTL = max(0, failureTTL)
    }

    /// Number of stored entries (including not yet purged expired ones).
    public var count: Int { entries.count }

    /// The cached outcome with TTLs reduced to the time remaining, or nil if absent/expired.
    public mutating func lookup(_ name: DNSName, _ type: DNSRecordType, now: Double) -> DNSLookup.Outcome? {
        let key = Key(name: name, type: type)
        guard let entry = entries[key] else { return nil }
        guard entry.expires > now else {
            entries[key] = nil
            return nil
        }
        let remaining = UInt32(min(Double(UInt32.max), (entry.expires - now).rounded(.up)))
        switch entry.outcome {
        case .records(var records, _):
            for i in records.indices { records[i].ttl = min(records[i].ttl, remaining) }
            return .records(records, ttl: remaining)
        case .nxdomain: return .nxdomain(ttl: remaining)
        case .noData: return .noData(ttl: remaining)
        case .failure: return entry.outcome
        }
    }

    /// Stores `outcome` for its TTL (records: `ttl`; negative: their negative TTL; failures:
    /// `failureTTL`). Zero TTLs are ignored.
    public mutating func store(_ outcome: DNSLookup.Outcome, for name: DNSName, _ type: DNSRecordType, now: Double) {
        let ttl: Double
        switch outcome {
        case .records(_, let t), .nxdomain(let t), .noData(let t): ttl = min(Double(t), maxTTL)
        case .failure: ttl = failureTTL
        }
        guard ttl > 0 else { return }
        let key = Key(name: name, type: type)
        if entries[key] == nil && entries.count >= capacity { evict(now: now) }
        entries[key] = Entry(outcome: outcome, expires: now + ttl)
    }

    /// Drops every entry.
    public mutating func removeAll() { entries.removeAll() }

    private mutating func evict(now: Double) {
        entries = entries.filter { $0.value.expires > now }
        guard entries.count >= capacity else { return }
        let drop = max(1, capacity / 10)
        let victims = entries.sorted { $0.value.expires < $1.value.expires }.prefix(drop).map(\.key)
        for key in victims { entries[key] = nil }
    }
}
