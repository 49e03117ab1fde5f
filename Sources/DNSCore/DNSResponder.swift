/// Pure authoritative responder for the cluster zone: wire query in, wire response out.
///
/// Build one per zone version (`init(zone:)` precomputes the lookup tables) and call
/// `respond(to:transport:client:)` from any number of threads; it never blocks and never traps on
/// any input. Behaviour:
/// - Drops (returns nil) packets too short to hold an ID and packets with QR set.
/// - FORMERR (header only, ID/opcode/RD echoed) when the packet cannot be decoded; FORMERR also for
///   QDCOUNT ≠ 1 and malformed Client Subnet options. NOTIMP for opcodes other than QUERY.
///   BADVERS (extended RCODE 16) for EDNS version ≠ 0.
/// - ANY (RFC 8482 minimal answers, UDP and TCP alike): a name with data gets one synthesized
///   HINFO record `"RFC8482" ""` (zone TTL, no additional records) instead of every RRset; a name
///   without data gets the usual NODATA/NXDOMAIN. Keeps ANY useless as an amplifier.
/// - REFUSED (AA clear) for names outside the zone, classes other than IN/ANY, and AXFR/IXFR.
/// - AA set, RA clear, RD and CD copied, question echoed with the requester's case.
/// - NXDOMAIN for names that do not exist, NODATA (NOERROR, empty answer) for existing names
///   (including empty non-terminals) without the type; both carry the SOA in the authority section
///   with TTL min(SOA minimum, zone TTL) (RFC 2308).
/// - Ingress A/AAAA are routed: the client address is the Client Subnet option's address when
///   present (echoed with SCOPE = the matched region's prefix length, or the source prefix when
///   no region matched), else the resolver's address. Answer: the healthy nodes of the
///   longest-prefix-matched region; if that region has none (or none matched), every healthy node;
///   if no node is healthy, NODATA with the short negative TTL, so resolvers retry soon rather
///   than being sent to a node known to be down.
/// - EDNS: OPT echoed (payload 1232, DO copied); UDP answers fit min(max(requestor size, 512), 1232)
///   bytes (512 without EDNS). If the answer/authority does not fit, records are dropped and TC is
///   set; additional records are dropped silently. TCP answers are complete.
public struct DNSResponder: Sendable {
    /// The transport the query arrived on.
    public enum Transport: Sendable { case udp, tcp }

    /// Largest UDP payload this responder sends (DNS flag day 2020 value).
    public static let maximumUDPPayload = 1232

    /// The zone being served.
    public let zone: Zone

    private let staticRecords: [DNSName: [DNSRecord]]
    private let existingNames: Set<DNSName>
    private let soaRecord: DNSRecord
    private let healthyByRegion: [String: [Zone.Node]]
    private let allHealthy: [Zone.Node]
    /// Precomputed ingress A+AAAA records per region (only regions with healthy nodes).
    private let ingressByRegion: [String: [DNSRecord]]
    /// Precomputed ingress A+AAAA records of every healthy node.
    private let ingressAll: [DNSRecord]

    /// Precomputes lookup tables for `zone`. Pure; any thread.
    public init(zone: Zone) {
        self.zone = zone
        let origin = zone.origin
        let ttl = zone.ttl
        var records: [DNSName: [DNSRecord]] = [:]
        func add(_ record: DNSRecord) {
            guard record.name.isSubdomain(of: origin) else { return }
            records[record.name, default: []].append(record)
        }
        let mname = zone.soa.primaryNameServer ?? zone.nodes.first?.name ?? origin
        let rname = zone.soa.responsibleMailbox ?? ((try? origin.prepending("hostmaster")) ?? origin)
        let soa = DNSRecord(name: origin, ttl: ttl, data: .soa(DNSRecord.SOA(
            primaryNameServer: mname, responsibleMailbox: rname, serial: zone.soa.serial, refresh: zone.soa.refresh,
            retry: zone.soa.retry, expire: zone.soa.expire, minimum: zone.soa.minimum)))
        add(soa)
        var seenNS = Set<DNSName>()
        for node in zone.nodes where seenNS.insert(node.name).inserted {
            add(DNSRecord(name: origin, ttl: ttl, data: .ns(node.name)))
        }
        add(DNSRecord(name: origin, ttl: ttl, data: .mx(preference: zone.mxPreference, exchange: zone.ingressName)))
        for (name, exchange) in zone.mx where name.isSubdomain(of: origin) {
            add(DNSRecord(name: name, ttl: ttl, data: .mx(preference: zone.mxPreference, exchange: exchange)))
        }
        for node in zone.nodes {
            for a in node.ipv4 { add(DNSRecord(name: node.name, ttl: ttl, data: .a(a))) }
            for a in node.ipv6 { add(DNSRecord(name: node.name, ttl: ttl, data: .aaaa(a))) }
        }
        for (name, strings) in zone.txt {
            for text in strings {
                let bytes = Array(text.utf8)
                var chunks: [[UInt8]] = []
                var i = 0
                repeat {
                    chunks.append(Array(bytes[i..<min(i + 255, bytes.count)]))
                    i += 255
                } while i < bytes.count
                add(DNSRecord(name: name, ttl: ttl, data: .txt(chunks)))
            }
        }
        // Remove exact duplicates (e.g. two nodes sharing a name).
        for (name, list) in records {
            var unique: [DNSRecord] = []
            for r in list where !unique.contains(r) { unique.append(r) }
            records[name] = unique
        }
        var names = Set<DNSName>()
        for name in Array(records.keys) + [zone.ingressName] where name.isSubdomain(of: origin) {
            var current: DNSName? = name
            while let n = current, n.isSubdomain(of: origin) {
                names.insert(n)
                current = n.parent
            }
        }
        var byRegion: [String: [Zone.Node]] = [:]
        for node in zone.nodes where node.healthy {
            if let region = node.region { byRegion[region, default: []].append(node) }
        }
        self.staticRecords = records
        self.existingNames = names
        self.soaRecord = soa
        self.healthyByRegion = byRegion
        self.allHealthy = zone.nodes.filter(\.healthy)
        func ingress(_ nodes: [Zone.Node]) -> [DNSRecord] {
            var out: [DNSRecord] = []
            for node in nodes { for a in node.ipv4 { out.append(DNSRecord(name: zone.ingressName, ttl: ttl, data: .a(a))) } }
            for node in nodes { for a in node.ipv6 { out.append(DNSRecord(name: zone.ingressName, ttl: ttl, data: .aaaa(a))) } }
            var unique: [DNSRecord] = []
            for r in out where !unique.contains(r) { unique.append(r) }
            return unique
        }
        self.ingressByRegion = byRegion.mapValues(ingress)
        self.ingressAll = ingress(allHealthy)
    }

    /// Answers one wire-format query; nil means "send nothing" (under 2 bytes, or a response).
    /// `client` is the source address (4 or 16 bytes; IPv4-mapped IPv6 is unmapped). Pure; never
    /// blocks; any thread.
    public func respond(to query: [UInt8], transport: Transport, client: [UInt8]) -> [UInt8]? {
        guard query.count >= 2, query.count < 3 || query[2] & 0x80 == 0 else { return nil }
        let message: DNSMessage
        do {
            message = try DNSMessage(decoding: query)
        } catch {
            // Header-only error reply: ID, opcode, RD and CD echoed when present.
            let flags2 = query.count > 2 ? query[2] : 0
            let flags3 = query.count > 3 ? query[3] : 0
            let rcode: UInt8 = (flags2 >> 3) & 0x0F == 0 ? 1 : 4
            return [query[0], query[1], 0x80 | (flags2 & 0x79), (flags3 & 0x10) | rcode, 0, 0, 0, 0, 0, 0, 0, 0]
        }
        let reply = answer(message, client: client)
        let limit: Int
        switch transport {
        case .tcp: limit = 65535
        case .udp:
            if let edns = message.edns {
                limit = min(max(Int(edns.udpPayloadSize), 512), DNSResponder.maximumUDPPayload)
            } else {
                limit = 512
            }
        }
        return reply.encoded(limit: limit).bytes
    }

    /// A minimal reply for rate-limited UDP clients: header, question and OPT only, TC set, so a
    /// genuine client retries over TCP. Nil when `query` would get no reply at all. Pure.
    public func slipResponse(to query: [UInt8]) -> [UInt8]? {
        guard query.count >= 12, query[2] & 0x80 == 0, let message = try? DNSMessage(decoding: query) else { return nil }
        var reply = DNSMessage(id: message.id, isResponse: true, opcode: message.opcode, isTruncated: true,
                               recursionDesired: message.recursionDesired, checkingDisabled: message.checkingDisabled,
                               questions: message.questions)
        if message.edns != nil { reply.edns = DNSMessage.EDNS(udpPayloadSize: UInt16(DNSResponder.maximumUDPPayload)) }
        return reply.encoded(limit: 512).bytes
    }

    /// Builds the complete (untruncated) response to a decoded query. Size limits are applied by
    /// `respond(to:transport:client:)`. Pure; any thread.
    public func answer(_ query: DNSMessage, client: [UInt8]) -> DNSMessage {
        var reply = DNSMessage(id: query.id, isResponse: true, opcode: query.opcode,
                               recursionDesired: query.recursionDesired,
                               checkingDisabled: query.checkingDisabled, questions: query.questions)
        if let edns = query.edns {
            reply.edns = DNSMessage.EDNS(udpPayloadSize: UInt16(DNSResponder.maximumUDPPayload), version: 0,
                                         dnssecOK: edns.dnssecOK)
        }
        guard query.opcode == .query else {
            reply.rcode = .notImplemented
            return reply
        }
        if let edns = query.edns, edns.version != 0 {
            reply.rcode = .badVersion
            return reply
        }
        guard query.questions.count == 1 else {
            reply.rcode = .formatError
            return reply
        }
        let subnet: DNSMessage.ClientSubnet?
        do {
            subnet = try query.edns?.clientSubnet()
            if let subnet, subnet.scopePrefixLength != 0 { throw DNSError(.badOPT, "SCOPE must be 0 in queries") }
        } catch {
            reply.rcode = .formatError
            return reply
        }
        let question = query.questions[0]
        guard question.dnsClass == .in || question.dnsClass == .any,
              question.type != .axfr, question.type != .ixfr,
              question.name.isSubdomain(of: zone.origin) else {
            reply.rcode = .refused
            if let subnet { reply.edns?.options = [Self.echo(subnet, scope: 0)] }
            return reply
        }
        reply.isAuthoritative = true

        var scope: UInt8 = 0
        var ingressRecords: [DNSRecord] = []
        let isIngress = question.name == zone.ingressName
        if isIngress && (question.type == .a || question.type == .aaaa || question.type == .any) {
            let routed = route(client: client, subnet: subnet)
            scope = routed.scope
            ingressRecords = routedRecords(region: routed.region).filter { question.type == .any || $0.type == question.type }
        }

        var answers: [DNSRecord] = []
        if let list = staticRecords[question.name] {
            for record in list where question.type == .any || record.type == question.type {
                var copy = record
                copy.name = question.name
                answers.append(copy)
            }
        }
        for var record in ingressRecords {
            record.name = question.name
            answers.append(record)
        }

        if question.type == .any && !answers.isEmpty {
            // RFC 8482 §4.2: the name has data, but ANY gets one synthesized HINFO, not all of it.
            scope = 0
            answers = [DNSRecord(name: question.name, ttl: zone.ttl, data: Self.rfc8482HINFO)]
        }
        if answers.isEmpty {
            reply.rcode = existingNames.contains(question.name) ? .noError : .nameError
            var soa = soaRecord
            soa.ttl = zone.negativeTTL
            reply.authorities = [soa]
        } else {
            reply.answers = answers
            reply.additionals = additionalRecords(for: answers, client: client, subnet: subnet)
        }
        if let subnet { reply.edns?.options = [Self.echo(subnet, scope: scope)] }
        return reply
    }

    /// The nodes whose addresses answer the ingress name for a client, and the ECS scope.
    /// Pure; any thread.
    public func route(client: [UInt8], subnet: DNSMessage.ClientSubnet?) -> (nodes: [Zone.Node], region: String?, scope: UInt8) {
        let address: [UInt8]
        let sourceBits: Int
        if let subnet {
            address = subnet.address
            sourceBits = Int(subnet.sourcePrefixLength)
        } else {
            address = DNSIPAddress.unmapped(client)
            sourceBits = address.count * 8
        }
        var best: Zone.Region? = nil
        if sourceBits > 0 {
            for region in zone.regions where region.prefixLength <= sourceBits
                && region.prefixLength > (best?.prefixLength ?? -1)
                && DNSIPAddress.contains(network: region.network, prefixLength: region.prefixLength, address: address) {
                best = region
            }
        }
        let scope = UInt8(best?.prefixLength ?? (subnet == nil ? 0 : sourceBits))
        if let best, let nodes = healthyByRegion[best.region], !nodes.isEmpty {
            return (nodes, best.region, scope)
        }
        return (allHealthy, best?.region, scope)
    }

    private func routedRecords(region: String?) -> [DNSRecord] {
        if let region, let records = ingressByRegion[region] { return records }
        return ingressAll
    }

    /// Glue for MX (the ingress addresses) and NS (node addresses) answers, in-zone names only.
    private func additionalRecords(for answers: [DNSRecord], client: [UInt8], subnet: DNSMessage.ClientSubnet?) -> [DNSRecord] {
        var out: [DNSRecord] = []
        var done = Set<DNSName>()
        for record in answers {
            let target: DNSName
            switch record.data {
            case .mx(_, let exchange): target = exchange
            case .ns(let host): target = host
            default: continue
            }
            guard target.isSubdomain(of: zone.origin), done.insert(target).inserted else { continue }
            if target == zone.ingressName {
                out += routedRecords(region: route(client: client, subnet: subnet).region)
            }
            for r in staticRecords[target] ?? [] where r.type == .a || r.type == .aaaa {
                if !out.contains(r) { out.append(r) }
            }
        }
        return out
    }

    /// HINFO RDATA `"RFC8482" ""` (RFC 8482 §4.2: CPU "RFC8482", OS the empty string).
    static let rfc8482HINFO = DNSRecord.RData.unknown(type: .hinfo, data: [7] + Array("RFC8482".utf8) + [0])

    private static func echo(_ subnet: DNSMessage.ClientSubnet, scope: UInt8) -> DNSMessage.EDNS.Option {
        var copy = subnet
        copy.scopePrefixLength = scope
        return copy.option
    }
}
