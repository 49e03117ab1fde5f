import Testing
@testable import RelayConfig

@Suite("IP addresses, networks and host:port")
struct IPNetworkTests {
    @Test("IPv4 parses and formats; leading zeros, short and out-of-range forms are rejected")
    func ipv4() {
        #expect(IPAddress("192.0.2.1") == .v4(0xC000_0201))
        #expect(IPAddress("0.0.0.0")?.description == "0.0.0.0")
        #expect(IPAddress("255.255.255.255")?.description == "255.255.255.255")
        for bad in ["256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1..2.3", "1.2.3.4 ", "", "a.b.c.d", "1.2.3.-4"] {
            #expect(IPAddress(bad) == nil, "accepted \(bad)")
        }
    }

    @Test("IPv6 parses all textual forms and formats canonically per RFC 5952")
    func ipv6() {
        let cases: [(String, String)] = [
            ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            ("2001:db8::1", "2001:db8::1"),
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),   // first of equal runs
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),           // longest run
            ("2001:db8:1:1:1:1:0:1", "2001:db8:1:1:1:1:0:1"), // single zero group not compressed
            ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
            ("::FFFF:c000:0201", "::ffff:192.0.2.1"),
            ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
            ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ]
        for (input, canonical) in cases {
            #expect(IPAddress(input)?.description == canonical, "input \(input)")
        }
        for bad in [":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "1:", ":1", "::ffff:1.2.3", "g::1",
                    "[::1]", "fe80::1%eth0", "1:2:3:4:5:6:7:1.2.3.4"] {
            #expect(IPAddress(bad) == nil, "accepted \(bad)")
        }
    }

    @Test("bytes round-trip and IPv4-mapped addresses unmap")
    func bytesAndMapping() {
        let a = IPAddress("2001:db8::abcd:1")!
        #expect(IPAddress(bytes: a.bytes) == a)
        #expect(IPAddress(bytes: [10, 1, 2, 3]) == IPAddress("10.1.2.3"))
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
        #expect(IPAddress("::ffff:10.1.2.3")!.unmapped == IPAddress("10.1.2.3"))
        #expect(IPAddress("10.1.2.3")!.mappedToIPv6 == IPAddress("::ffff:10.1.2.3"))
        #expect(IPAddress("::ffff:127.0.0.1")!.isLoopback)
        #expect(IPAddress("::1")!.isLoopback)
        #expect(!IPAddress("::2")!.isLoopback)
    }

    @Test("CIDR parsing: bare addresses are host routes, bad prefixes and host bits are explained")
    func cidrParse() {
        #expect(IPNetwork("10.0.0.0/8")?.description == "10.0.0.0/8")
        #expect(IPNetwork("192.0.2.7")?.prefixLength == 32)
        #expect(IPNetwork("2001:db8::1")?.prefixLength == 128)
        #expect(IPNetwork("0.0.0.0/0")?.contains(IPAddress("203.0.113.9")!) == true)
        #expect(IPNetwork.parse("10.0.0.1/8") == .failure(.hostBitsSet(suggestion: "10.0.0.0/8")))
        #expect(IPNetwork.parse("2001:db8::1/32") == .failure(.hostBitsSet(suggestion: "2001:db8::/32")))
        #expect(IPNetwork.parse("10.0.0.0/33") == .failure(.badPrefix))
        #expect(IPNetwork.parse("10.0.0.0/") == .failure(.badPrefix))
        #expect(IPNetwork.parse("10.0.0.0/08") == .failure(.badPrefix))
        #expect(IPNetwork.parse("::/129") == .failure(.badPrefix))
        #expect(IPNetwork.parse("10.0.0.0/-1") == .failure(.badPrefix))
        #expect(IPNetwork.parse("example.com/8") == .failure(.notAnAddress))
    }

    @Test("contains respects prefix boundaries and crosses IPv4 / IPv4-mapped IPv6")
    func contains() {
        let net = IPNetwork("192.0.2.0/25")!
        #expect(net.contains(IPAddress("192.0.2.0")!))
        #expect(net.contains(IPAddress("192.0.2.127")!))
        #expect(!net.contains(IPAddress("192.0.2.128")!))
        #expect(net.contains(IPAddress("::ffff:192.0.2.5")!))
        #expect(!net.contains(IPAddress("2001:db8::1")!))
        let v6 = IPNetwork("2001:db8:8000::/33")!
        #expect(v6.contains(IPAddress("2001:db8:8000::1")!))
        #expect(v6.contains(IPAddress("2001:db8:ffff:ffff::")!))
        #expect(!v6.contains(IPAddress("2001:db8:7fff::1")!))
        #expect(!v6.contains(IPAddress("10.0.0.1")!))
        let low = IPNetwork("2001:db8::ff00/120")!
        #expect(low.contains(IPAddress("2001:db8::ffff")!))
        #expect(!low.contains(IPAddress("2001:db8::1:ff00")!))
        let mapped = IPNetwork("::ffff:10.0.0.0/104")!
        #expect(mapped.contains(IPAddress("10.9.9.9")!))
        #expect(IPNetwork("::/0")!.contains(IPAddress("1.2.3.4")!))
    }

    @Test("host:port parses IPv4, bracketed IPv6, names, port 0 and default ports")
    func hostPort() {
        #expect(HostPort("0.0.0.0:587") == HostPort(host: "0.0.0.0", port: 587))
        #expect(HostPort("[::1]:25")?.host == "::1")
        #expect(HostPort("[::1]:25")?.description == "[::1]:25")
        #expect(HostPort("MX.Example.TEST:25") == HostPort(host: "mx.example.test", port: 25))
        #expect(HostPort("127.0.0.1:0")?.port == 0)
        #expect(HostPort("127.0.0.1", defaultPort: 53)?.port == 53)
        #expect(HostPort("[2001:db8::1]", defaultPort: 25)?.port == 25)
        for bad in ["0.0.0.0:99999", "0.0.0.0:", "::1:25", "[::1]25", "[10.0.0.1]:25", "host:port", "a b:25",
                    "-bad.example:25", "127.0.0.1", ":25", "[::1]:-1", "x..y:25"] {
            #expect(HostPort(bad) == nil, "accepted \(bad)")
        }
    }
}
