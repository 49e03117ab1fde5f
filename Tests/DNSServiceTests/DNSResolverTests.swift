import DNSCore
import Foundation
import Testing
@testable import DNSService

@Suite("Stub resolver")
struct DNSResolverTests {
    @Test("MX and addresses resolve against a real DNSServer on 127.0.0.1")
    func againstServer() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone())
        defer { server.stop() }
        let resolver = try DNSResolver(nameservers: ["127.0.0.1:\(server.port)"], timeout: 2)
        #expect(resolver.resolveMX("relay.example") == .mxTargets([MXTarget(host: "smtp.relay.example", preference: 10)]))
        #expect(Set(resolver.resolveAddresses("smtp.relay.example")) == ["10.0.0.1", "10.0.0.2", "fd00::1"])
        #expect(resolver.resolveAddresses("n1.relay.example") == ["10.0.0.1", "fd00::1"])
        #expect(resolver.resolveMX("nope.relay.example") == .nxdomain)
        // A node name has A/AAAA but no MX: implicit MX.
        #expect(resolver.resolveMX("n1.relay.example") == .mxTargets([MXTarget(host: "n1.relay.example", preference: 0, isImplicit: true)]))
        // Outside the zone the server REFUSES: temporary.
        if case .temporaryFailure = resolver.resolveMX("example.com") {} else { Issue.record("REFUSED should be temporary") }
        #expect(resolver.resolveHost("nope.relay.example").nxdomain)
        #expect(resolver.resolveHost("example.com").temporaryFailure != nil)
        #expect(resolver.resolveAddresses("192.0.2.7") == ["192.0.2.7"])
        #expect(resolver.resolveAddresses("[2001:db8::1]") == ["2001:db8::1"])
    }

    @Test("answers are cached until their TTL runs out")
    func caching() throws {
        let fake = try FakeDNSServer { query, _ in
            DNSMessage(id: 0, answers: [DNSRecord(name: query.questions[0].name, ttl: 300,
                                                  data: .mx(preference: 5, exchange: name("mx.cached.test")))])
        }
        defer { fake.stop() }
        let resolver = try DNSResolver(nameservers: [fake.address])
        #expect(resolver.resolveMX("cached.test") == .mxTargets([MXTarget(host: "mx.cached.test", preference: 5)]))
        #expect(resolver.resolveMX("CACHED.test") == .mxTargets([MXTarget(host: "mx.cached.test", preference: 5)]))
        #expect(fake.questionCount == 1)
        resolver.flushCache()
        _ = resolver.resolveMX("cached.test")
        #expect(fake.questionCount == 2)
    }

    @Test("PTR and TXT lookups return names and joined strings")
    func ptrAndTXT() throws {
        let fake = try FakeDNSServer { query, _ in
            let q = query.questions[0]
            if q.type == .ptr && q.name == name("7.2.0.192.in-addr.arpa") {
                return DNSMessage(id: 0, answers: [DNSRecord(name: q.name, ttl: 60, data: .ptr(name("Mail.Example.test")))])
            }
            if q.type == .txt {
                return DNSMessage(id: 0, answers: [DNSRecord(name: q.name, ttl: 60, data: .txt([Array("v=spf1 ".utf8), Array("-all".utf8)]))])
            }
            return DNSMessage(id: 0, rcode: .nameError)
        }
        defer { fake.stop() }
        let resolver = try DNSResolver(nameservers: [fake.address])
        #expect(resolver.resolvePTR("192.0.2.7") == ["mail.example.test"])
        #expect(resolver.resolvePTR("192.0.2.8").isEmpty)
        #expect(resolver.resolveTXT("example.test") == ["v=spf1 -all"])
    }

    @Test("a null MX reply is reported as nullMX")
    func nullMX() throws {
        let fake = try FakeDNSServer { query, _ in
            DNSMessage(id: 0, answers: [DNSRecord(name: query.questions[0].name, ttl: 300, data: .mx(preference: 0, exchange: .root))])
        }
        defer { fake.stop() }
        #expect(try DNSResolver(nameservers: [fake.address]).resolveMX("nomail.test") == .nullMX)
    }

    @Test("a truncated UDP reply is retried over TCP")
    func tcpFallback() throws {
        let fake = try FakeDNSServer { query, overTCP in
            if !overTCP { return DNSMessage(id: 0, isTruncated: true) }
            return DNSMessage(id: 0, answers: (1...3).map {
                DNSRecord(name: query.questions[0].name, ttl: 60, data: .a([192, 0, 2, UInt8($0)]))
            })
        }
        defer { fake.stop() }
        let resolver = try DNSResolver(nameservers: [fake.address])
        #expect(resolver.resolveAddresses("big.test").prefix(3) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"])
        #expect(fake.seen.withLock { $0.prefix(2).map(\.1) } == [false, true])
    }

    @Test("SERVFAIL and silence move on to the next nameserver")
    func failover() throws {
        let servfail = try FakeDNSServer { _, _ in DNSMessage(id: 0, rcode: .serverFailure) }
        let silent = try FakeDNSServer { _, _ in nil }
        let good = try FakeDNSServer { query, _ in
            DNSMessage(id: 0, answers: [DNSRecord(name: query.questions[0].name, ttl: 60, data: .mx(preference: 1, exchange: name("mx.good.test")))])
        }
        defer { servfail.stop(); silent.stop(); good.stop() }
        // Only the silent server's timeout expires; 2 s leaves the others time to answer on a loaded machine.
        let resolver = try DNSResolver(nameservers: [servfail.address, silent.address, good.address], timeout: 2, attempts: 1)
        #expect(resolver.resolveMX("good.test") == .mxTargets([MXTarget(host: "mx.good.test", preference: 1)]))
        // A fake records a question when its thread reads it, which may be after the resolver gave up on it.
        #expect(eventually { servfail.questionCount == 1 && silent.questionCount == 1 && good.questionCount == 1 },
                "\(servfail.questionCount) \(silent.questionCount) \(good.questionCount)")
        #expect(servfail.questionCount == 1 && silent.questionCount == 1 && good.questionCount == 1)
    }

    @Test("when every nameserver fails the result is a temporary failure, remembered only briefly")
    func allFail() throws {
        let servfail = try FakeDNSServer { _, _ in DNSMessage(id: 0, rcode: .serverFailure) }
        defer { servfail.stop() }
        let remembering = try DNSResolver(nameservers: [servfail.address], timeout: 2, attempts: 2)
        guard case .temporaryFailure = remembering.resolveMX("down.test") else { Issue.record("expected temporary failure"); return }
        #expect(eventually { servfail.questionCount == 2 }, "\(servfail.questionCount)")
        // The second lookup is answered from the failure cache: no new question.
        guard case .temporaryFailure = remembering.resolveMX("down.test") else { Issue.record("expected temporary failure"); return }
        #expect(servfail.questionCount == 2)
        let forgetting = try DNSResolver(nameservers: [servfail.address], timeout: 2, attempts: 2, failureCacheSeconds: 0)
        _ = forgetting.resolveMX("down.test")
        _ = forgetting.resolveMX("down.test")
        #expect(eventually { servfail.questionCount == 6 }, "\(servfail.questionCount)")
        #expect(servfail.questionCount == 6)
    }

    @Test("a CNAME answered without its target is chased with a second query")
    func cnameChase() throws {
        let fake = try FakeDNSServer { query, _ in
            let q = query.questions[0]
            if q.name == name("alias.test") {
                return DNSMessage(id: 0, answers: [DNSRecord(name: q.name, ttl: 60, data: .cname(name("real.test")))])
            }
            return DNSMessage(id: 0, answers: [DNSRecord(name: q.name, ttl: 60, data: .a([192, 0, 2, 9]))])
        }
        defer { fake.stop() }
        let resolver = try DNSResolver(nameservers: [fake.address])
        #expect(resolver.resolveAddresses("alias.test").first == "192.0.2.9")
        #expect(fake.seen.withLock { $0.map(\.0.name.description).prefix(2) } == ["alias.test", "real.test"])
    }

    @Test("resolv.conf nameserver lines are parsed, IPv6 zones dropped")
    func resolvConf() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dns-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("resolv.conf").path
        try "# comment\nsearch example\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\nnameserver bogus\noptions edns0\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(DNSResolver.nameservers(fromResolvConf: path) == ["127.0.0.53:53", "[fe80::1]:53"])
        #expect(throws: DNSServiceError.self) { try DNSResolver(resolvConf: dir.appendingPathComponent("missing").path) }
    }

    @Test("concurrent resolutions from many threads all succeed")
    func concurrent() async throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone())
        defer { server.stop() }
        let resolver = try DNSResolver(nameservers: ["127.0.0.1:\(server.port)"])
        let results = await withTaskGroup(of: DNSResolution.self) { group in
            for i in 0..<16 {
                group.addTask { i % 2 == 0 ? resolver.resolveMX("relay.example") : resolver.resolveMX("n\(i % 3 + 1).relay.example") }
            }
            var all: [DNSResolution] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(results.count == 16)
        #expect(results.allSatisfy { if case .mxTargets = $0 { true } else { false } })
    }
}
