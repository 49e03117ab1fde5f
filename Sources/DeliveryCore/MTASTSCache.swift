/// The per-domain MTA-STS policy cache and its decisions (RFC 8461 §3.3, §5.1): whether the
/// policy must be fetched (no usable cached policy, or the TXT record announces another `id`), or
/// the cached one applies (same `id`, no TXT record, or a failed TXT lookup or fetch while the
/// cached policy has not expired). The clock is passed in (seconds). Bounded: at most `capacity`
/// domains, expired entries and then the oldest go first.
///
/// Pure value; owned by one caller (the shell wraps it in a lock).
public struct MTASTSCache: Sendable {
    /// One cached policy.
    public struct Entry: Sendable, Equatable {
        /// The `id` of the TXT record the policy was fetched for.
        public var id: String
        /// The policy.
        public var policy: MTASTSPolicy
        /// When it was fetched (seconds).
        public var fetchedAt: Double
        /// When it stops being usable: `fetchedAt + min(max_age, cap)`.
        public var expiresAt: Double
        /// Creates an entry. Pure.
        public init(id: String, policy: MTASTSPolicy, fetchedAt: Double, expiresAt: Double) {
            self.id = id
            self.policy = policy
            self.fetchedAt = fetchedAt
            self.expiresAt = expiresAt
        }
    }

    /// What to do for a domain after its TXT lookup.
    public enum Decision: Sendable, Equatable {
        /// Apply this cached policy; no fetch.
        case use(Entry)
        /// Fetch the policy for this `id`; `fallback` is the unexpired cached policy to apply
        /// when the fetch fails (nil: deliver as without a policy, RFC 8461 §5.1).
        case fetch(id: String, fallback: Entry?)
        /// The domain has no (usable) policy.
        case noPolicy
    }

    /// Longest time a policy is kept, whatever its `max_age` (seconds).
    public let maxAgeCap: Double
    /// Most domains kept.
    public let capacity: Int
    /// Cached policies by lowercased domain.
    public private(set) var entries: [String: Entry] = [:]

    /// Creates an empty cache. Pure.
    public init(maxAgeCap: Double = Double(MTASTSPolicy.maxAgeLimit), capacity: Int = 100_000) {
        self.maxAgeCap = maxAgeCap
        self.capacity = max(1, capacity)
    }

    /// The unexpired cached policy of `domain`, if any. Pure.
    public func valid(_ domain: String, now: Double) -> Entry? {
        guard let entry = entries[domain.lowercased()], entry.expiresAt > now else { return nil }
        return entry
    }

    /// Decides from the TXT lookup of `_mta-sts.<domain>` (RFC 8461 §5.1). Pure.
    public func decide(domain: String, lookup: MTASTSRecord.Lookup, now: Double) -> Decision {
        let cached = valid(domain, now: now)
        switch lookup {
        case .record(let record):
            if let cached, cached.id == record.id { return .use(cached) }
            return .fetch(id: record.id, fallback: cached)
        case .none, .failure:
            // A withdrawn or unreachable TXT record does not cancel a policy before it expires
            // (RFC 8461 §10.3: a "none" policy is how a domain withdraws one).
            if let cached { return .use(cached) }
            return .noPolicy
        }
    }

    /// Stores a freshly fetched policy for `domain` (announced with `id`) and returns its entry.
    public mutating func store(domain: String, id: String, policy: MTASTSPolicy, now: Double) -> Entry {
        let key = domain.lowercased()
        let entry = Entry(id: id, policy: policy, fetchedAt: now, expiresAt: now + min(Double(policy.maxAge), maxAgeCap))
        if entries[key] == nil, entries.count >= capacity { evict(now: now) }
        entries[key] = entry
        return entry
    }

    /// Forgets `domain`'s policy.
    public mutating func remove(_ domain: String) {
        entries[domain.lowercased()] = nil
    }

    private mutating func evict(now: Double) {
        entries = entries.filter { $0.value.expiresAt > now }
        while entries.count >= capacity, let oldest = entries.min(by: { $0.value.fetchedAt < $1.value.fetchedAt }) {
            entries[oldest.key] = nil
        }
    }
}
