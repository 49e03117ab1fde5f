import DNSCore
import DeliveryCore
import DeliveryEngine
import Foundation
import RelayConfig
import SpoolStore
import Testing

/// MX routing through test DNS servers on 127.0.0.1 (never the machine's resolver), and
/// connection reuse / shaping limits.
@Suite("Delivery routing and connection reuse")
struct DeliveryRoutingTests {
    static func mxOptions(port: UInt16) -> DeliveryEngine.Options {
        var options = EngineHarness.testOptions()
        options.mxPort = port
        return options
    }

    @Test("without a static route the MX is looked up and its host receives the message")
    func mxDelivery() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        let dns = try startZone("mxdest.test", addresses: ["127.0.0.1"])
        defer { dns.stop() }
        let h = try EngineHarness(config: EngineHarness.config(nameservers: ["127.0.0.1:\(dns.port)"]),
                                  options: Self.mxOptions(port: server.port))
        defer { h.shutdown() }
        h.enqueue("mx1", to: ["a@mxdest.test"])
        let event = h.waitForOutcome("mx1").first
        #expect(event?.type == .delivered, "\(h.logText)")
        #expect(event?.remoteHost == "mx.mxdest.test[127.0.0.1]:\(server.port)")
        #expect(server.messages.count == 1)
    }

    @Test("an MX host that refuses connections fails over to the next MX address")
    func mxFailover() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        // 127.0.0.2 has nothing listening on the server's port: refused, then 127.0.0.1 takes it.
        let dns = try startZone("twomx.test", addresses: ["127.0.0.2", "127.0.0.1"])
        defer { dns.stop() }
        let h = try EngineHarness(config: EngineHarness.config(nameservers: ["127.0.0.1:\(dns.port)"]),
                                  options: Self.mxOptions(port: server.port))
        defer { h.shutdown() }
        h.enqueue("mx2", to: ["a@twomx.test"])
        let event = h.waitForOutcome("mx2").first
        #expect(event?.type == .delivered, "\(h.logText)")
        #expect(event?.remoteHost?.contains("[127.0.0.1]") == true)
    }

    @Test("an MX host of a recognised provider (Google) gets its policy: TLS required, so a plain-text MX defers")
    func providerPolicy() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        // Served only by the test DNS server on 127.0.0.1: MX google.com → mx.google.com → 127.0.0.1.
        let dns = try startZone("google.com", addresses: ["127.0.0.1"])
        defer { dns.stop() }
        let h = try EngineHarness(config: EngineHarness.config(nameservers: ["127.0.0.1:\(dns.port)"]),
                                  options: Self.mxOptions(port: server.port))
        defer { h.shutdown() }
        h.enqueue("g1", to: ["someone@google.com"])
        let event = h.waitForOutcome("g1").first
        #expect(event?.type == .deferred)
        #expect(event?.bounceClass == "tls-failure", "\(String(describing: event))")
        #expect(!server.commands.contains { $0.hasPrefix("MAIL") })
    }

    @Test("a domain that does not exist (NXDOMAIN) bounces at once as bad-domain")
    func nxdomain() throws {
        let dns = try startZone("exists.test", addresses: ["127.0.0.1"])
        defer { dns.stop() }
        let h = try EngineHarness(config: EngineHarness.config(nameservers: ["127.0.0.1:\(dns.port)"]))
        defer { h.shutdown() }
        h.enqueue("nx1", to: ["a@nope.exists.test"])
        let event = h.waitForOutcome("nx1").first
        #expect(event?.type == .bounced)
        #expect(event?.smtpCode == 550)
        #expect(event?.enhancedCode == "5.1.2")
        #expect(event?.bounceClass == "bad-domain")
    }

    @Test("a null MX (RFC 7505) bounces at once with 556 5.1.10")
    func nullMX() throws {
        let dns = try ScriptedDNS { query in
            DNSMessage(id: 0, answers: [DNSRecord(name: query.questions[0].name, ttl: 300, data: .mx(preference: 0, exchange: .root))])
        }
        defer { dns.stop() }
        let h = try EngineHarness(config: EngineHarness.config(nameservers: [dns.address]))
        defer { h.shutdown() }
        h.enqueue("null1", to: ["a@nomail.test"])
        let event = h.waitForOutcome("null1").first
        #expect(event?.type == .bounced)
        #expect(event?.smtpCode == 556)
        #expect(event?.enhancedCode == "5.1.10")
    }

    @Test("a DNS failure (no answer from the nameserver) defers as dns-failure instead of bouncing")
    func dnsTimeoutDefers() throws {
        let silent = try ScriptedDNS { _ in DNSMessage(id: 0, rcode: .serverFailure) }
        defer { silent.stop() }
        let h = try EngineHarness(config: EngineHarness.config(nameservers: [silent.address]))
        defer { h.shutdown() }
        h.enqueue("dns1", to: ["a@somewhere.test"])
        let event = h.waitForOutcome("dns1").first
        #expect(event?.type == .deferred)
        #expect(event?.bounceClass == "dns-failure", "\(String(describing: event))")
    }

    @Test("the per-host message rate applies to MX delivery: 5 messages at 2/s take over a second")
    func messageRate() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        let dns = try startZone("rate.test", addresses: ["127.0.0.1"])
        defer { dns.stop() }
        var options = Self.mxOptions(port: server.port)
        options.shaping = ShapingPolicy.Configuration(all: ShapingPolicy.Override(messagesPerSecond: 2))
        let h = try EngineHarness(config: EngineHarness.config(nameservers: ["127.0.0.1:\(dns.port)"]), options: options)
        defer { h.shutdown() }
        for i in 0..<5 { h.enqueue("q\(i)", to: ["r\(i)@rate.test"]) }
        let times = (0..<5).compactMap { h.waitForOutcome("q\($0)").first?.timestampMillis }
        #expect(times.count == 5)
        #expect((times.max() ?? 0) - (times.min() ?? 0) >= 1_000)
        #expect(server.messages.count == 5)
    }

    @Test("with one connection allowed, several messages share it (RSET between is not needed after success)")
    func connectionReuse() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.shaping = ShapingPolicy.Configuration(all: ShapingPolicy.Override(maxConnections: 1))
        options.idleTimeout = 5
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]),
                                  options: options)
        defer { h.shutdown() }
        for i in 0..<6 { h.enqueue("c\(i)", to: ["r\(i)@dest.test"]) }
        for i in 0..<6 { #expect(h.waitForOutcome("c\(i)").first?.type == .delivered) }
        #expect(server.messages.count == 6)
        #expect(server.connectionCount == 1)
        let stats = h.engine.statistics
        #expect(stats.connectionsOpened == 1 && stats.transactions == 6)
    }

    @Test("messages per connection are capped: 5 messages with a cap of 2 need 3 connections")
    func messagesPerConnectionCap() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.shaping = ShapingPolicy.Configuration(all: ShapingPolicy.Override(maxConnections: 1, maxMessagesPerConnection: 2))
        // A connection must not idle out between two messages (that would open an extra one):
        // everything is queued before the engine starts, and the idle timeout is generous.
        options.idleTimeout = 5
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]),
                                  options: options, start: false)
        defer { h.shutdown() }
        for i in 0..<5 { h.enqueue("k\(i)", to: ["r\(i)@dest.test"]) }
        try h.engine.start()
        for i in 0..<5 { #expect(h.waitForOutcome("k\(i)").first?.type == .delivered) }
        #expect(server.connectionCount == 3)
        let perConnection = Dictionary(grouping: server.messages, by: \.connection).mapValues(\.count)
        #expect(perConnection.values.allSatisfy { $0 <= 2 })
    }

    @Test("after a rejected transaction on a reused connection the next one starts with RSET")
    func resetAfterRejection() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { step in
            step.verb == "MAIL" && step.argument.contains("refused@") ? .line("550 5.7.1 sender refused") : nil
        }))
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.shaping = ShapingPolicy.Configuration(all: ShapingPolicy.Override(maxConnections: 1))
        options.idleTimeout = 5
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]),
                                  options: options)
        defer { h.shutdown() }
        h.enqueue("z1", to: ["a@dest.test"], from: "refused@origin.test")
        #expect(h.waitForOutcome("z1").first?.type == .bounced)
        h.enqueue("z2", to: ["b@dest.test"])
        #expect(h.waitForOutcome("z2").first?.type == .delivered)
        #expect(server.connectionCount == 1)
        #expect(server.commands.contains("RSET"))
    }

    @Test("stop() returns while a receiver stalls, within the bounded wait")
    func stopIsBounded() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { $0.verb == "BODY" ? .stall : nil }))
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.replyTimeoutCap = 30
        options.stopTimeout = 0.5
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]),
                                  options: options)
        h.enqueue("st1", to: ["a@dest.test"])
        #expect(h.wait { server.commands.contains("DATA") })
        let started = Date()
        h.engine.stop()
        // Without the bounded wait stop would wait for the stalled reply (its 30 s timeout); 20 s
        // leaves a loaded machine room while telling the two apart.
        #expect(Date().timeIntervalSince(started) < 20)
        h.shutdown()
    }
}
