import Testing
@testable import RelayConfig

@Suite("Config lookups")
struct LookupTests {
    @Test("routes match exact domains case-insensitively before the wildcard")
    func routes() throws {
        let c = try parseConfig(#"{"routes": [{"domain": "*", "hosts": ["smart.example"]}, {"domain": "a.test", "hosts": ["127.0.0.1:2526"]}]}"#)
        #expect(c.route(forDomain: "A.Test.")?.hosts == [HostPort("127.0.0.1:2526")!])
        #expect(c.route(forDomain: "b.test")?.domain == "*")
        let none = try parseConfig(#"{"routes": [{"domain": "a.test", "hosts": ["h"]}]}"#)
        #expect(none.route(forDomain: "sub.a.test") == nil)
    }

    @Test("trusted networks and local domains answer membership")
    func policy() throws {
        let c = try parseConfig(#"{"policy": {"trustedNetworks": ["127.0.0.1", "10.0.0.0/8"], "localDomains": ["Relay.Example"]}}"#)
        #expect(c.policy.isTrusted(IPAddress("10.9.8.7")!))
        #expect(c.policy.isTrusted(IPAddress("::ffff:127.0.0.1")!))
        #expect(!c.policy.isTrusted(IPAddress("127.0.0.2")!))
        #expect(c.policy.isLocalDomain("relay.example."))
        #expect(!c.policy.isLocalDomain("sub.relay.example"))
    }

    @Test("DNS regions pick the most specific matching network")
    func regions() {
        let dns = RelayConfig.DNS(zone: "r.example", ingressName: "smtp.r.example", regions: [
            "eu": [IPNetwork("10.0.0.0/8")!], "eu-west": [IPNetwork("10.1.0.0/16")!], "v6": [IPNetwork("2001:db8::/32")!],
        ])
        #expect(dns.region(for: IPAddress("10.1.2.3")!) == "eu-west")
        #expect(dns.region(for: IPAddress("10.2.2.3")!) == "eu")
        #expect(dns.region(for: IPAddress("::ffff:10.1.0.1")!) == "eu-west")
        #expect(dns.region(for: IPAddress("2001:db8::5")!) == "v6")
        #expect(dns.region(for: IPAddress("192.0.2.1")!) == nil)
    }
}
