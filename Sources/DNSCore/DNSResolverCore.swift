/// Pure resolver logic for the delivery engine: query construction, reply classification and
/// MX interpretation (RFC 5321 §5.1, RFC 7505). No I/O; callers inject randomness.
public enum DNSResolverCore {
    /// A single reply, classified for `DNSLookup`.
    public enum Reply: Sendable, Hashable {
        /// Records of the asked type, reached after `cnameHops` CNAMEs inside this reply.
        case records([DNSRecord], ttl: UInt32, cnameHops: Int)
        /// The reply ends in a CNAME to `target` whose data it does not contain.
        case alias(DNSName, ttl: UInt32, cnameHops: Int)
        case nxdomain(ttl: UInt32)
        case noData(ttl: UInt32)
        /// TC set: retry over TCP.
        case truncated
        /// SERVFAIL/REFUSED/NOTIMP/FORMERR or a reply that does not match the question: try the
        /// next nameserver.
        case failure(String)
        /// FORMERR or NOTIMP without an OPT record to a query that carried one: the server does not
        /// speak EDNS; ask it again without (RFC 6891 §7).
        case ednsRejected(String)
    }

    /// Builds a recursive (RD) query, with EDNS0 advertising `udpPayloadSize` unless it is nil. Pure.
    public static func makeQuery(id: UInt16, question: DNSMessage.Question, udpPayloadSize: UInt16? = 1232) -> [UInt8] {
        DNSMessage(id: id, recursionDesired: true, questions: [question],
                   edns: udpPayloadSize.map { DNSMessage.EDNS(udpPayloadSize: $0) }).encoded()
    }

    /// Classifies `response` as the answer to `question`, following CNAMEs inside it. Pure.
    public static func classify(_ response: DNSMessage, question: DNSMessage.Question) -> Reply {
        guard response.isResponse, response.opcode == .query else { return .failure("not a query response") }
        // A server that does not know EDNS answers FORMERR or NOTIMP without an OPT record, and may
        // leave out the question.
        if (response.rcode == .formatError || response.rcode == .notImplemented) && response.edns == nil
            && (response.questions.isEmpty || response.questions == [question]) {
            return .ednsRejected("\(response.rcode) without OPT from server for \(question.name) \(question.type)")
        }
        guard response.questions.count == 1, response.questions[0].name == question.name,
              response.questions[0].type == question.type else {
            return .failure("response question does not match \(question.name) \(question.type)")
        }
        if response.isTruncated { return .truncated }
        let negativeTTL: UInt32 = response.authorities.lazy.compactMap { record -> UInt32? in
            if case .soa(let soa) = record.data { return min(record.ttl, soa.minimum) }
            return nil
        }.first ?? 0
        switch response.rcode {
        case .noError: break
        case .nameError: return .nxdomain(ttl: negativeTTL)
        default: return .failure("\(response.rcode) from server for \(question.name) \(question.type)")
        }
        var current = question.name
        var ttl = UInt32.max
        var hops = 0
        while true {
            let matching = response.answers.filter { $0.name == current && $0.type == question.type }
            if !matching.isEmpty {
                return .records(matching, ttl: min(ttl, matching.map(\.ttl).min() ?? 0), cnameHops: hops)
            }
            guard let cname = response.answers.first(where: { $0.name == current && $0.type == .cname }),
                  case .cname(let target) = cname.data else { break }
            ttl = min(ttl, cname.ttl)
            hops += 1
            if hops > 16 { return .failure("CNAME chain too long in reply for \(question.name)") }
            current = target
        }
        if hops > 0 && !response.authorities.contains(where: { $0.type == .soa }) {
            return .alias(current, ttl: ttl, cnameHops: hops)
        }
        return .noData(ttl: min(ttl, negativeTTL))
    }

    /// Interprets the MX lookup of `domain`. Returns nil when the domain has no MX records and the
    /// caller must look up A/AAAA for an implicit MX (then call `implicitMX`). MX hosts are sorted
    /// by preference with equal preferences shuffled by `random`; a lone MX "." is `.nullMX`.
    /// Pure.
    public static func resolution(forMX outcome: DNSLookup.Outcome, domain: DNSName,
                                  random: inout some RandomNumberGenerator) -> DNSResolution? {
        switch outcome {
        case .nxdomain: return .nxdomain
        case .noData: return nil
        case .failure(let reason): return .temporaryFailure(reason)
        case .records(let records, _):
            var exchangers: [(UInt16, DNSName)] = []
            for record in records {
                if case .mx(let preference, let exchange) = record.data { exchangers.append((preference, exchange)) }
            }
            if exchangers.isEmpty { return nil }
            if exchangers.count == 1 && exchangers[0].1.isRoot { return .nullMX }
            // A "." mixed with real exchangers violates RFC 7505; ignore the "." entries.
            exchangers.removeAll { $0.1.isRoot }
            if exchangers.isEmpty { return .nullMX }
            var byPreference: [UInt16: [String]] = [:]
            var seen = Set<String>()
            for (preference, exchange) in exchangers.sorted(by: { $0.0 < $1.0 }) {
                let host = exchange.lowercased.description
                guard seen.insert(host).inserted else { continue }
                byPreference[preference, default: []].append(host)
            }
            var targets: [MXTarget] = []
            for preference in byPreference.keys.sorted() {
                var hosts = byPreference[preference]!
                hosts.shuffle(using: &random)
                for host in hosts { targets.append(MXTarget(host: host, preference: preference)) }
            }
            return .mxTargets(targets)
        }
    }

    /// Decides the implicit-MX case (RFC 5321 §5.1) from the domain's A and AAAA lookups. Pure.
    public static func implicitMX(domain: DNSName, a: DNSLookup.Outcome, aaaa: DNSLookup.Outcome) -> DNSResolution {
        func hasRecords(_ o: DNSLookup.Outcome) -> Bool {
            if case .records(let r, _) = o { return !r.isEmpty }
            return false
        }
        if hasRecords(a) || hasRecords(aaaa) {
            return .mxTargets([MXTarget(host: domain.lowercased.description, preference: 0, isImplicit: true)])
        }
        if case .failure(let reason) = a { return .temporaryFailure(reason) }
        if case .failure(let reason) = aaaa { return .temporaryFailure(reason) }
        if case .nxdomain = a { return .nxdomain }
        if case .nxdomain = aaaa { return .nxdomain }
        return .noMailHost
    }

    /// Combines a host's A and AAAA lookups: addresses (A first), or why there are none. Pure.
    public static func addressResult(a: DNSLookup.Outcome, aaaa: DNSLookup.Outcome) -> DNSAddressResult {
        let found = addresses(from: a) + addresses(from: aaaa)
        if !found.isEmpty { return DNSAddressResult(addresses: found) }
        if case .failure(let reason) = a { return DNSAddressResult(addresses: [], temporaryFailure: reason) }
        if case .failure(let reason) = aaaa { return DNSAddressResult(addresses: [], temporaryFailure: reason) }
        if case .nxdomain = a { return DNSAddressResult(addresses: [], nxdomain: true) }
        if case .nxdomain = aaaa { return DNSAddressResult(addresses: [], nxdomain: true) }
        return DNSAddressResult(addresses: [])
    }

    /// Host names from a PTR lookup outcome (lowercase, no trailing dot). Pure.
    public static func ptrNames(from outcome: DNSLookup.Outcome) -> [String] {
        guard case .records(let records, _) = outcome else { return [] }
        return records.compactMap { if case .ptr(let host) = $0.data { host.lowercased.description } else { nil } }
    }

    /// TXT records from a lookup outcome, each record's character strings concatenated
    /// (as SPF, DMARC and DKIM expect, RFC 7208 §3.3). Invalid UTF-8 is repaired. Pure.
    public static func texts(from outcome: DNSLookup.Outcome) -> [String] {
        guard case .records(let records, _) = outcome else { return [] }
        return records.compactMap { if case .txt(let strings) = $0.data { String(decoding: strings.joined(), as: UTF8.self) } else { nil } }
    }

    /// Text addresses from an A or AAAA lookup outcome, in record order. Pure.
    public static func addresses(from outcome: DNSLookup.Outcome) -> [String] {
        guard case .records(let records, _) = outcome else { return [] }
        return records.compactMap { record in
            switch record.data {
            case .a(let bytes), .aaaa(let bytes): DNSIPAddress.format(bytes)
            default: nil
            }
        }
    }
}
