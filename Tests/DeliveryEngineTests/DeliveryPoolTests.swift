import DeliveryCore
import DeliveryEngine
import Foundation
import RelayConfig
import SpoolStore
import Testing

/// Named source address pools: a route's pool wins, then the sender's (`users[].pool`), then the
/// default pool; a pool's mail never leaves from an address outside it.
@Suite("Delivery source pools")
struct DeliveryPoolTests {
    static func config(routes: [RelayConfig.Route]) -> RelayConfig {
        var config = EngineHarness.config(routes: routes)
        config.delivery.sourceAddresses = [IPAddress("127.0.0.2")!]
        config.delivery.pools = [.init(name: "bulk", addresses: [IPAddress("127.0.0.3")!]),
                                 .init(name: "alerts", addresses: [IPAddress("127.0.0.4")!])]
        config.users = [RelayConfig.User(name: "newsletter", passwordHash: "unused", pool: "bulk"),
                        RelayConfig.User(name: "app", passwordHash: "unused")]
        return config
    }

    @Test("mail from a user with a pool leaves from that pool, other mail from the default pool, and a route's pool wins over the user's")
    func selection() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        let other = try FakeSMTPServer()
        defer { other.stop() }
        var alertsRoute = EngineHarness.route("alerts.test", [other.port])
        alertsRoute.pool = "alerts"
        var options = EngineHarness.testOptions()
        options.shaping = ShapingPolicy.Configuration(all: ShapingPolicy.Override(maxMessagesPerConnection: 1))
        let h = try EngineHarness(config: Self.config(routes: [EngineHarness.route("dest.test", [server.port]), alertsRoute]),
                                  options: options)
        defer { h.shutdown() }
        h.enqueue("p1", to: ["a@dest.test"], authUser: "newsletter")
        #expect(h.waitForOutcome("p1").first?.type == .delivered, "\(h.logText)")
        h.enqueue("p2", to: ["b@dest.test"], authUser: "app")
        #expect(h.waitForOutcome("p2").first?.type == .delivered, "\(h.logText)")
        h.enqueue("p3", to: ["c@dest.test"])
        #expect(h.waitForOutcome("p3").first?.type == .delivered, "\(h.logText)")
        h.enqueue("p4", to: ["d@alerts.test"], authUser: "newsletter")
        #expect(h.waitForOutcome("p4").first?.type == .delivered, "\(h.logText)")
        #expect(Self.recipientsByIP(server)["127.0.0.3"] == ["a@dest.test"])
        #expect(Set(Self.recipientsByIP(server)["127.0.0.2"] ?? []) == ["b@dest.test", "c@dest.test"])
        #expect(Self.recipientsByIP(other) == ["127.0.0.4": ["d@alerts.test"]])
    }

    /// Recipients received per client (source) address.
    static func recipientsByIP(_ server: FakeSMTPServer) -> [String: [String]] {
        let ips = server.records.withLock { $0.clientIPs }
        var out: [String: [String]] = [:]
        for m in server.messages { out[ips[m.connection - 1], default: []] += m.recipients }
        return out
    }

    @Test("a skipped IPv6 destination does not make the next one failover: a warming-up pool's cold address still sends")
    func skippedFamilyIsNotFailover() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.sourcePools = ["cold": [IPWarmup.SourceIP("127.0.0.3", warmupStartedAt: Date().timeIntervalSince1970)]]
        var route = EngineHarness.route("dual.test", [])
        route.hosts = [HostPort(host: "::1", port: 1), HostPort(host: "127.0.0.1", port: server.port)]
        route.pool = "cold"
        let h = try EngineHarness(config: EngineHarness.config(routes: [route]), options: options)
        defer { h.shutdown() }
        h.enqueue("p6", to: ["a@dual.test"])
        let event = h.waitForOutcome("p6").first
        #expect(event?.type == .delivered, "\(h.logText)")
        #expect(server.records.withLock { $0.clientIPs } == ["127.0.0.3"])
    }

    @Test("a pool still wholly warming up sends its retries from its cold addresses instead of deferring them for ever")
    func coldPoolRetries() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { step in
            step.verb == "RCPT" && step.connection == 1 ? .line("452 4.2.2 mailbox full") : nil
        }))
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.sourceIPs = [IPWarmup.SourceIP("127.0.0.2", warmupStartedAt: Date().timeIntervalSince1970)]
        options.shaping = ShapingPolicy.Configuration(all: ShapingPolicy.Override(maxMessagesPerConnection: 1))
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]),
                                  options: options)
        defer { h.shutdown() }
        h.enqueue("p7", to: ["a@dest.test"])
        let events = h.waitForOutcome("p7", type: .delivered, timeout: 30)
        #expect(events.first?.type == .deferred, "\(h.logText)")
        #expect(events.last?.type == .delivered, "\(h.logText)")
        #expect(events.last?.attempt == 2)
        #expect(server.records.withLock { $0.clientIPs } == ["127.0.0.2", "127.0.0.2"])
    }

    @Test("a pool without IPv6 addresses skips an IPv6 destination instead of sending from another address")
    func familySkipped() throws {
        var route = EngineHarness.route("v6.test", [25], host: "::1")
        route.pool = "bulk"
        let h = try EngineHarness(config: Self.config(routes: [route]))
        defer { h.shutdown() }
        h.enqueue("p5", to: ["a@v6.test"])
        let event = h.waitForOutcome("p5").first
        #expect(event?.type == .deferred, "\(h.logText)")
        #expect(event?.response?.contains("pool bulk has no IPv6 source address") == true, "\(String(describing: event))")
    }
}
