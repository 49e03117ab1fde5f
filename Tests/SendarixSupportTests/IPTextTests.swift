import Testing
@testable import SendarixSupport

@Suite("IPText numeric address parsing and formatting")
struct IPTextTests {
    @Test("IPv4 dotted quads parse strictly")
    func ipv4() {
        #expect(IPText.parseIPv4(Array("192.0.2.1".utf8)[...]) == 0xC000_0201)
        #expect(IPText.parse("255.255.255.255") == [255, 255, 255, 255])
        for bad in ["256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1..2.3", "1.2.3.4 ", "a.b.c.d", ""] {
            #expect(IPText.parse(bad) == nil, "\(bad)")
        }
    }

    @Test("IPv6 text forms parse to the right bytes and invalid forms are refused")
    func ipv6() {
        #expect(IPText.parse("::") == [UInt8](repeating: 0, count: 16))
        #expect(IPText.parse("::1") == [UInt8](repeating: 0, count: 15) + [1])
        #expect(IPText.parse("2001:DB8::1")?.prefix(4) == [0x20, 0x01, 0x0d, 0xb8])
        #expect(IPText.parse("1::")?.first == 0 && IPText.parse("1::")?[1] == 1)
        #expect(IPText.parse("::ffff:192.0.2.1") == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1])
        for bad in [":1", "1:", "1:::2", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
                    "[::1]", "fe80::1%eth0", "::ffff:1.2.3", "g::1", "1:2:3:4:5:6:7:1.2.3.4"] {
            #expect(IPText.parse(bad) == nil, "\(bad)")
        }
    }

    @Test("formatting follows RFC 5952: longest zero run, first on ties, no single-group ::")
    func format() {
        #expect(IPText.format(IPText.parse("2001:0db8:0:0:1:0:0:1")!) == "2001:db8::1:0:0:1")
        #expect(IPText.format(IPText.parse("2001:db8:0:1:1:1:1:1")!) == "2001:db8:0:1:1:1:1:1")
        #expect(IPText.format(IPText.parse("::")!) == "::")
        #expect(IPText.format(IPText.parse("::ffff:192.0.2.1")!) == "::ffff:192.0.2.1")
        #expect(IPText.format(IPText.parse("::ffff:192.0.2.1")!, dottedMappedIPv4: false) == "::ffff:c000:201")
        #expect(IPText.format([10, 0, 0, 1]) == "10.0.0.1")
        #expect(IPText.format([1, 2, 3]) == nil)
    }

    @Test("random addresses format canonically and parse back to the same bytes")
    func roundTrip() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<5000 {
            var bytes = [UInt8](repeating: 0, count: 16)
            for g in 0..<8 where Bool.random(using: &rng) {
                bytes[2 * g] = UInt8.random(in: 0...255, using: &rng)
                bytes[2 * g + 1] = UInt8.random(in: 0...255, using: &rng)
            }
            let text = IPText.format(bytes)!
            #expect(IPText.parse(text) == bytes, "\(text)")
            let v4 = Array(bytes.prefix(4))
            #expect(IPText.parse(IPText.format(v4)!) == v4)
        }
    }
}

@Suite("IPText leading-zero option")
struct IPTextLeadingZeroTests {
    @Test("leading zeros are refused by default and read as decimal when allowed, also inside IPv6")
    func leadingZeros() {
        #expect(IPText.parse("010.0.0.1") == nil)
        #expect(IPText.parse("010.0.0.1", allowLeadingZeros: true) == [10, 0, 0, 1])
        #expect(IPText.parse("::ffff:001.2.3.4") == nil)
        #expect(IPText.parse("::ffff:001.2.3.4", allowLeadingZeros: true)?.suffix(4) == [1, 2, 3, 4])
        #expect(IPText.parse("0001.2.3.4", allowLeadingZeros: true) == nil)
        #expect(IPText.parse("0.0.0.0") == [0, 0, 0, 0])
    }
}
