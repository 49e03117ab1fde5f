import Testing
@testable import DNSCore

@Suite("DNS names and addresses")
struct DNSNameTests {
    @Test("a name parses to wire form and prints back without the trailing dot")
    func parseAndPrint() throws {
        let n = try DNSName("Mail.Example.COM.")
        #expect(n.wire == [4, 77, 97, 105, 108, 7, 69, 120, 97, 109, 112, 108, 101, 3, 67, 79, 77, 0])
        #expect(n.description == "Mail.Example.COM")
        #expect(n.labelCount == 3)
        #expect(try DNSName(".").isRoot)
        #expect(try DNSName("").isRoot)
    }

    @Test("names compare and hash case-insensitively")
    func caseInsensitive() {
        #expect(name("SMTP.relay.EXAMPLE") == name("smtp.relay.example"))
        #expect(Set([name("A.b"), name("a.B")]).count == 1)
        #expect(name("a.b") != name("a.c"))
    }

    @Test("subdomain test respects label boundaries")
    func subdomain() {
        #expect(name("x.relay.example").isSubdomain(of: name("RELAY.example")))
        #expect(name("relay.example").isSubdomain(of: name("relay.example")))
        #expect(!name("xrelay.example").isSubdomain(of: name("relay.example")))
        #expect(!name("example").isSubdomain(of: name("relay.example")))
        #expect(name("anything").isSubdomain(of: .root))
    }

    @Test("labels over 63 bytes, names over 255 bytes and empty labels are rejected")
    func limits() {
        #expect(throws: DNSError.self) { try DNSName(String(repeating: "a", count: 64) + ".com") }
        let long = Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".")
        #expect(throws: DNSError.self) { try DNSName(long) }
        #expect(throws: DNSError.self) { try DNSName("a..b") }
        #expect((try? DNSName(String(repeating: "a", count: 63) + ".com")) != nil)
    }

    @Test("reverse names follow in-addr.arpa and nibble ip6.arpa form")
    func reverseNames() {
        #expect(DNSName.reverse(address: ip("192.0.2.10"))?.description == "10.2.0.192.in-addr.arpa")
        #expect(DNSName.reverse(address: ip("2001:db8::567:89ab"))?.description
                == "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")
        #expect(DNSName.reverse(address: [1, 2, 3]) == nil)
    }

    @Test("escapes round trip through presentation form")
    func escapes() throws {
        let n = try DNSName("a\\.b.c\\032d")
        #expect(n.labelCount == 2)
        #expect(n.labels[0] == ArraySlice(Array("a.b".utf8)))
        #expect(n.description == "a\\.b.c\\032d")
    }

    @Test("IPv4 and IPv6 addresses parse and format canonically")
    func addresses() {
        #expect(DNSIPAddress.parse("192.0.2.1") == [192, 0, 2, 1])
        #expect(DNSIPAddress.parse("256.0.0.1") == nil)
        #expect(DNSIPAddress.parse("1.2.3") == nil)
        #expect(DNSIPAddress.format(DNSIPAddress.parse("2001:DB8:0:0:1::1")!) == "2001:db8::1:0:0:1")
        #expect(DNSIPAddress.format(DNSIPAddress.parse("::")!) == "::")
        #expect(DNSIPAddress.format(DNSIPAddress.parse("::1")!) == "::1")
        #expect(DNSIPAddress.format(DNSIPAddress.parse("fe80::")!) == "fe80::")
        #expect(DNSIPAddress.parse("::ffff:192.0.2.1").map(DNSIPAddress.unmapped) == [192, 0, 2, 1])
        #expect(DNSIPAddress.parse(":1") == nil)
        #expect(DNSIPAddress.parse("1:::2") == nil)
        #expect(DNSIPAddress.parse("1:2:3:4:5:6:7:8:9") == nil)
        #expect(DNSIPAddress.format(DNSIPAddress.parse("1:0:0:2:0:0:0:3")!) == "1:0:0:2::3")
    }

    @Test("CIDR networks mask their host bits and match addresses")
    func networks() {
        let net = DNSIPAddress.parseNetwork("192.0.2.77/24")!
        #expect(net.address == [192, 0, 2, 0] && net.prefixLength == 24)
        #expect(DNSIPAddress.contains(network: net.address, prefixLength: 24, address: ip("192.0.2.200")))
        #expect(!DNSIPAddress.contains(network: net.address, prefixLength: 24, address: ip("192.0.3.1")))
        #expect(!DNSIPAddress.contains(network: net.address, prefixLength: 24, address: ip("::1")))
        #expect(DNSIPAddress.parseNetwork("10.0.0.0/33") == nil)
    }
}
