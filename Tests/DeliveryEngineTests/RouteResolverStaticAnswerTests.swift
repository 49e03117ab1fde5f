import RelayConfig
import SendarixSupport
import Testing
@testable import DeliveryEngine

/// `resolveWithoutDNS` remembers its answer per domain (it is asked for every delivery attempt):
/// the remembered answers must equal freshly computed ones, and a new configuration (a new
/// resolver) must be seen at once.
@Suite("Route resolver: remembered static answers")
struct RouteResolverStaticAnswerTests {
    static func resolver(_ routes: [RelayConfig.Route]) -> RouteResolver {
        var config = RelayConfig()
        config.node.hostname = "relay.test"
        config.routes = routes
        return RouteResolver(config: config, resolver: nil, mxPort: 25, ourHostname: "relay.test")
    }

    static let routes: [RelayConfig.Route] = [
        RelayConfig.Route(domain: "literal.test", hosts: [HostPort(host: "127.106.0.1", port: 2525)], tls: .none),
        RelayConfig.Route(domain: "six.test", hosts: [HostPort(host: "[::1]", port: 25), HostPort(host: "127.106.0.2", port: 26)],
                          tls: .required, auth: RelayConfig.RouteAuth(username: "u", passwordFile: "/dev/null", password: "p"),
                          pool: "p1"),
        RelayConfig.Route(domain: "google.test", hosts: [HostPort(host: "127.106.0.3", port: 25)]),
        RelayConfig.Route(domain: "named.test", hosts: [HostPort(host: "smtp.named.test", port: 25)]),
        RelayConfig.Route(domain: "*", hosts: [HostPort(host: "127.106.0.9", port: 2526)], implicitTLS: true),
    ]

    @Test("Scenario: 3,000 seeded random lookups over routed, wildcard and unknown domains in any case; remembered answers equal computed ones")
    func rememberedAnswersEqualComputedOnes() {
        let domains = ["literal.test", "LITERAL.test", "literal.test.", "six.test", "google.test", "named.test", "other.test",
                       "", "Caf\u{E9}.test", "x.literal.test"]
        for routes in [Self.routes, Array(Self.routes.dropLast())] {
            let resolver = Self.resolver(routes)
            var rng = SplitMix64(seed: 0x2077_E500_0000_0026)
            var routed = 0, unrouted = 0
            for _ in 0..<3_000 {
                let domain = domains.randomElement(using: &rng)!
                let expected = resolver.computeWithoutDNS(domain: domain)
                #expect(resolver.resolveWithoutDNS(domain: domain) == expected, "\(domain.debugDescription)")
                if expected == nil { unrouted += 1 } else { routed += 1 }
            }
            #expect(resolver.staticAnswers.count == domains.count)
            #expect(routed > 0)
            if routes.count < Self.routes.count { #expect(unrouted > 0) }
        }
    }

    @Test("Scenario: a route changes in the configuration; the resolver built from the new configuration answers with it at once")
    func newConfigurationIsSeenAtOnce() {
        let before = Self.resolver(Self.routes)
        guard case .route(let old)? = before.resolveWithoutDNS(domain: "literal.test") else {
            Issue.record("no static route")
            return
        }
        #expect(old.hosts.map(\.port) == [2525])
        var changed = Self.routes
        changed[0].hosts = [HostPort(host: "127.106.0.4", port: 2600)]
        let after = Self.resolver(changed)
        guard case .route(let new)? = after.resolveWithoutDNS(domain: "literal.test") else {
            Issue.record("no static route after the change")
            return
        }
        #expect(new.hosts.map(\.port) == [2600])
        #expect(new.hosts.first?.addresses == ["127.106.0.4"])
        // The copy the coordinator keeps (it sets `mtaSTS` on one) shares the same answers.
        var copy = after
        copy.mtaSTS = nil
        #expect(copy.resolveWithoutDNS(domain: "literal.test") == .route(new))
    }

    @Test("Scenario: more domains than the bound; the remembered set is emptied, never larger")
    func bounded() {
        let resolver = Self.resolver(Self.routes)
        for i in 0..<(RouteResolver.StaticAnswers.capacity + 10) {
            _ = resolver.resolveWithoutDNS(domain: "d\(i).test")
            #expect(resolver.staticAnswers.count <= RouteResolver.StaticAnswers.capacity)
        }
        #expect(resolver.resolveWithoutDNS(domain: "literal.test") == resolver.computeWithoutDNS(domain: "literal.test"))
    }
}
