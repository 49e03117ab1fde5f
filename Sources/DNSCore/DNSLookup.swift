/// Pure state machine for one stub lookup of (name, type), chasing CNAMEs across queries.
///
/// The shell sends `question` to a nameserver, classifies the reply with
/// `DNSResolverCore.classify(_:question:)`, and calls `advance(with:)` until it gets `.done`.
/// Transport concerns (TC → TCP retry, next nameserver on failure) stay in the shell.
/// Pure value; any thread.
public struct DNSLookup: Sendable {
    /// Final result of a lookup.
    public enum Outcome: Sendable, Hashable {
        /// Records of the requested type (owner = the end of any CNAME chain) and the smallest TTL
        /// along the chain.
        case records([DNSRecord], ttl: UInt32)
        /// NXDOMAIN, with the negative-caching TTL.
        case nxdomain(ttl: UInt32)
        /// The name exists without records of the type, with the negative-caching TTL.
        case noData(ttl: UInt32)
        /// Temporary failure (SERVFAIL, timeouts, loops, malformed replies).
        case failure(String)
    }

    /// What the shell should do next.
    public enum Step: Sendable, Hashable {
        /// Send this question.
        case query(DNSMessage.Question)
        /// The lookup is finished.
        case done(Outcome)
    }

    public let name: DNSName
    public let type: DNSRecordType
    /// The name currently being asked about (after following CNAMEs).
    public private(set) var currentName: DNSName
    /// Maximum CNAME hops followed in total.
    public let maxCNAMEs: Int
    private var visited: Set<DNSName>
    private var chainTTL: UInt32 = .max
    private var hops = 0

    /// Starts a lookup. Pure.
    public init(name: DNSName, type: DNSRecordType, maxCNAMEs: Int = 8) {
        self.name = name
        self.type = type
        self.currentName = name
        self.maxCNAMEs = maxCNAMEs
        self.visited = [name]
    }

    /// The question to send now.
    public var question: DNSMessage.Question { DNSMessage.Question(name: currentName, type: type) }

    /// Feeds the classified reply to the current question. Pure.
    public mutating func advance(with reply: DNSResolverCore.Reply) -> Step {
        switch reply {
        case .records(let records, let ttl, let cnameHops):
            hops += cnameHops
            guard hops <= maxCNAMEs else { return .done(.failure("CNAME chain longer than \(maxCNAMEs) for \(name)")) }
            return .done(.records(records, ttl: min(ttl, chainTTL)))
        case .alias(let target, let ttl, let cnameHops):
            hops += cnameHops
            chainTTL = min(chainTTL, ttl)
            guard hops <= maxCNAMEs else { return .done(.failure("CNAME chain longer than \(maxCNAMEs) for \(name)")) }
            guard visited.insert(target).inserted else { return .done(.failure("CNAME loop at \(target)")) }
            currentName = target
            return .query(question)
        case .nxdomain(let ttl):
            return .done(.nxdomain(ttl: min(ttl, chainTTL)))
        case .noData(let ttl):
            return .done(.noData(ttl: min(ttl, chainTTL)))
        case .truncated:
            return .done(.failure("truncated reply for \(currentName)"))
        case .failure(let reason), .ednsRejected(let reason):
            return .done(.failure(reason))
        }
    }
}
