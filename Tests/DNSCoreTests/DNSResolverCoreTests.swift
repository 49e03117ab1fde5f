import Testing
@testable import DNSCore
import SendarixSupport

@Suite("Resolver core")
struct DNSResolverCoreTests {
    static let question = DNSMessage.Question(name: name("example.com"), type: .mx)

    static func response(_ q: DNSMessage.Question = question, rcode: DNSMessage.RCode = .noError,
                         answers: [DNSRecord] = [], authorities: [DNSRecord] = [], tc: Bool = false) -> DNSMessage {
        DNSMessage(id: 1, isResponse: true, isTruncated: tc, recursionDesired: true, recursionAvailable: true,
                   rcode: rcode, questions: [q], answers: answers, authorities: authorities)
    }

    static func mx(_ pref: UInt16, _ host: String, ttl: UInt32 = 300) -> DNSRecord {
        DNSRecord(name: name("example.com"), ttl: ttl, data: .mx(preference: pref, exchange: name(host)))
    }

    static let soa = DNSRecord(name: name("example.com"), ttl: 900, data: .soa(.init(
        primaryNameServer: name("ns"), responsibleMailbox: name("h"), serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 120)))

    @Test("a query is recursive, carries EDNS 1232 and the question")
    func makeQuery() throws {
        let bytes = DNSResolverCore.makeQuery(id: 77, question: Self.question)
        let m = try DNSMessage(decoding: bytes)
        #expect(m.id == 77 && m.recursionDesired && !m.isResponse && m.questions == [Self.question])
        #expect(m.edns?.udpPayloadSize == 1232)
    }

    @Test("MX hosts come sorted by preference, equal preferences shuffled by the injected generator")
    func mxSorting() {
        let records = [Self.mx(20, "c.example.com"), Self.mx(10, "a.example.com"), Self.mx(10, "b.example.com"),
                       Self.mx(10, "d.example.com"), Self.mx(30, "E.example.com.")]
        var seenOrders = Set<[String]>()
        for seed in 0..<40 {
            var rng = SplitMix64(seed: UInt64(seed))
            guard case .mxTargets(let targets) = DNSResolverCore.resolution(
                forMX: .records(records, ttl: 300), domain: name("example.com"), random: &rng) else {
                Issue.record("expected targets"); return
            }
            #expect(targets.map(\.preference) == [10, 10, 10, 20, 30])
            #expect(Set(targets.prefix(3).map(\.host)) == ["a.example.com", "b.example.com", "d.example.com"])
            #expect(targets.last?.host == "e.example.com")
            seenOrders.insert(targets.prefix(3).map(\.host))
        }
        #expect(seenOrders.count > 1)
        var a = SplitMix64(seed: 5), b = SplitMix64(seed: 5)
        #expect(DNSResolverCore.resolution(forMX: .records(records, ttl: 1), domain: name("example.com"), random: &a)
                == DNSResolverCore.resolution(forMX: .records(records, ttl: 1), domain: name("example.com"), random: &b))
    }

    @Test("a single MX of '.' is a null MX; '.' mixed with real hosts is ignored")
    func nullMX() {
        var rng = SplitMix64(seed: 1)
        #expect(DNSResolverCore.resolution(forMX: .records([Self.mx(0, ".")], ttl: 1), domain: name("example.com"), random: &rng) == .nullMX)
        #expect(DNSResolverCore.resolution(forMX: .records([Self.mx(0, "."), Self.mx(10, "mx.example.com")], ttl: 1),
                                           domain: name("example.com"), random: &rng)
                == .mxTargets([MXTarget(host: "mx.example.com", preference: 10)]))
        #expect(DNSResolution.nullMX.isPermanentFailure)
    }

    @Test("no MX asks for an implicit MX check, which uses A/AAAA presence")
    func implicitMX() {
        var rng = SplitMix64(seed: 1)
        #expect(DNSResolverCore.resolution(forMX: .noData(ttl: 60), domain: name("example.com"), random: &rng) == nil)
        let a = DNSLookup.Outcome.records([DNSRecord(name: name("example.com"), ttl: 5, data: .a([1, 2, 3, 4]))], ttl: 5)
        #expect(DNSResolverCore.implicitMX(domain: name("Example.com"), a: a, aaaa: .noData(ttl: 5))
                == .mxTargets([MXTarget(host: "example.com", preference: 0, isImplicit: true)]))
        #expect(DNSResolverCore.implicitMX(domain: name("example.com"), a: .noData(ttl: 5), aaaa: .noData(ttl: 5)) == .noMailHost)
        #expect(DNSResolverCore.implicitMX(domain: name("example.com"), a: .failure("x"), aaaa: .noData(ttl: 5)) == .temporaryFailure("x"))
        #expect(DNSResolverCore.implicitMX(domain: name("example.com"), a: .nxdomain(ttl: 5), aaaa: .nxdomain(ttl: 5)) == .nxdomain)
    }

    @Test("a host's A and AAAA outcomes combine into addresses or the reason there are none")
    func addressResult() {
        let a = DNSLookup.Outcome.records([DNSRecord(name: name("h"), ttl: 5, data: .a([192, 0, 2, 1]))], ttl: 5)
        let aaaa = DNSLookup.Outcome.records([DNSRecord(name: name("h"), ttl: 5, data: .aaaa(ip("2001:db8::1")))], ttl: 5)
        #expect(DNSResolverCore.addressResult(a: a, aaaa: aaaa) == DNSAddressResult(addresses: ["192.0.2.1", "2001:db8::1"]))
        #expect(DNSResolverCore.addressResult(a: .failure("t"), aaaa: aaaa).addresses == ["2001:db8::1"])
        #expect(DNSResolverCore.addressResult(a: .failure("t"), aaaa: .noData(ttl: 1)).temporaryFailure == "t")
        #expect(DNSResolverCore.addressResult(a: .nxdomain(ttl: 1), aaaa: .nxdomain(ttl: 1)).nxdomain)
        let none = DNSResolverCore.addressResult(a: .noData(ttl: 1), aaaa: .noData(ttl: 1))
        #expect(none.addresses.isEmpty && none.temporaryFailure == nil && !none.nxdomain)
    }

    @Test("NXDOMAIN is permanent, failures are temporary")
    func permanence() {
        var rng = SplitMix64(seed: 1)
        let nx = DNSResolverCore.resolution(forMX: .nxdomain(ttl: 1), domain: name("example.com"), random: &rng)
        #expect(nx == .nxdomain && nx?.isPermanentFailure == true)
        let fail = DNSResolverCore.resolution(forMX: .failure("timeout"), domain: name("example.com"), random: &rng)
        #expect(fail == .temporaryFailure("timeout") && fail?.isPermanentFailure == false)
    }

    @Test("replies classify into records, NXDOMAIN/NODATA with SOA TTL, truncation and failures")
    func classify() {
        let q = Self.question
        #expect(DNSResolverCore.classify(Self.response(answers: [Self.mx(10, "a.x", ttl: 50), Self.mx(20, "b.x", ttl: 40)]), question: q)
                == .records([Self.mx(10, "a.x", ttl: 50), Self.mx(20, "b.x", ttl: 40)], ttl: 40, cnameHops: 0))
        #expect(DNSResolverCore.classify(Self.response(rcode: .nameError, authorities: [Self.soa]), question: q) == .nxdomain(ttl: 120))
        #expect(DNSResolverCore.classify(Self.response(authorities: [Self.soa]), question: q) == .noData(ttl: 120))
        #expect(DNSResolverCore.classify(Self.response(tc: true), question: q) == .truncated)
        if case .failure = DNSResolverCore.classify(Self.response(rcode: .serverFailure), question: q) {} else { Issue.record("SERVFAIL") }
        if case .failure = DNSResolverCore.classify(Self.response(rcode: .refused), question: q) {} else { Issue.record("REFUSED") }
        let other = DNSMessage.Question(name: name("other.com"), type: .mx)
        if case .failure = DNSResolverCore.classify(Self.response(other), question: q) {} else { Issue.record("mismatch") }
    }

    @Test("CNAMEs inside one reply are followed; an unresolved alias asks for another query")
    func cnameInReply() {
        let q = DNSMessage.Question(name: name("www.example.com"), type: .a)
        let cname = DNSRecord(name: name("www.example.com"), ttl: 30, data: .cname(name("host.example.net")))
        let a = DNSRecord(name: name("host.example.net"), ttl: 300, data: .a([1, 2, 3, 4]))
        #expect(DNSResolverCore.classify(Self.response(q, answers: [cname, a]), question: q) == .records([a], ttl: 30, cnameHops: 1))
        #expect(DNSResolverCore.classify(Self.response(q, answers: [cname]), question: q) == .alias(name("host.example.net"), ttl: 30, cnameHops: 1))
        #expect(DNSResolverCore.classify(Self.response(q, answers: [cname], authorities: [Self.soa]), question: q) == .noData(ttl: 30))
    }

    @Test("the lookup machine chases CNAMEs across queries and stops at the bound or a loop")
    func lookupChasing() {
        var lookup = DNSLookup(name: name("a.example"), type: .a, maxCNAMEs: 3)
        #expect(lookup.question.name == name("a.example"))
        #expect(lookup.advance(with: .alias(name("b.example"), ttl: 100, cnameHops: 1)) == .query(.init(name: name("b.example"), type: .a)))
        let rec = DNSRecord(name: name("b.example"), ttl: 500, data: .a([1, 1, 1, 1]))
        #expect(lookup.advance(with: .records([rec], ttl: 500, cnameHops: 0)) == .done(.records([rec], ttl: 100)))

        var long = DNSLookup(name: name("a.example"), type: .a, maxCNAMEs: 2)
        _ = long.advance(with: .alias(name("b.example"), ttl: 1, cnameHops: 1))
        _ = long.advance(with: .alias(name("c.example"), ttl: 1, cnameHops: 1))
        if case .done(.failure) = long.advance(with: .alias(name("d.example"), ttl: 1, cnameHops: 1)) {} else { Issue.record("no bound") }

        var loop = DNSLookup(name: name("a.example"), type: .a)
        _ = loop.advance(with: .alias(name("b.example"), ttl: 1, cnameHops: 1))
        if case .done(.failure) = loop.advance(with: .alias(name("A.example"), ttl: 1, cnameHops: 1)) {} else { Issue.record("no loop detection") }
    }

    @Test("the cache returns entries until their TTL passes on the injected clock")
    func cacheTTL() {
        var cache = DNSCache()
        let rec = DNSRecord(name: name("a.example"), ttl: 60, data: .a([1, 2, 3, 4]))
        cache.store(.records([rec], ttl: 60), for: name("a.example"), .a, now: 1000)
        guard case .records(let r, let ttl)? = cache.lookup(name("A.EXAMPLE"), .a, now: 1030) else { Issue.record("miss"); return }
        #expect(ttl == 30 && r[0].ttl == 30)
        #expect(cache.lookup(name("a.example"), .aaaa, now: 1030) == nil)
        #expect(cache.lookup(name("a.example"), .a, now: 1060) == nil)
        cache.store(.nxdomain(ttl: 10), for: name("n.example"), .mx, now: 0)
        #expect(cache.lookup(name("n.example"), .mx, now: 9) == .nxdomain(ttl: 1))
        cache.store(.failure("x"), for: name("f.example"), .mx, now: 0)
        cache.store(.noData(ttl: 0), for: name("z.example"), .mx, now: 0)
        #expect(cache.lookup(name("f.example"), .mx, now: 0) == nil && cache.lookup(name("z.example"), .mx, now: 0) == nil)
    }

    @Test("failures are remembered only for the configured failure TTL")
    func failureTTL() {
        var cache = DNSCache(failureTTL: 5)
        cache.store(.failure("timeout"), for: name("dead.example"), .mx, now: 100)
        #expect(cache.lookup(name("dead.example"), .mx, now: 104) == .failure("timeout"))
        #expect(cache.lookup(name("dead.example"), .mx, now: 105) == nil)
    }

    @Test("the cache caps TTLs and stays within its capacity")
    func cacheBounds() {
        var cache = DNSCache(capacity: 10, maxTTL: 100)
        cache.store(.noData(ttl: 1_000_000), for: name("long.example"), .a, now: 0)
        #expect(cache.lookup(name("long.example"), .a, now: 101) == nil)
        for i in 0..<50 { cache.store(.noData(ttl: UInt32(10 + i)), for: name("h\(i).example"), .a, now: 0) }
        #expect(cache.count <= 10)
        #expect(cache.lookup(name("h49.example"), .a, now: 1) != nil)
    }
}
