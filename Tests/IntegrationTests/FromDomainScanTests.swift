import SendarixSupport
import Testing
@testable import RelayNode

/// The From domain is read for every accepted message (which DKIM identity signs it, the sender
/// policy): ASCII headers are scanned as bytes, and must give the domain the character scan gave.
@Suite("From header domain: byte scan equals the character scan")
struct FromDomainScanTests {
    /// The character scan before the byte path (the oracle).
    static func oldAddressDomain(_ value: String) -> String? {
        var text = Substring(value)
        if let open = text.lastIndex(of: "<"), let close = text[open...].firstIndex(of: ">") {
            text = text[text.index(after: open)..<close]
        }
        guard let at = text.utf8.lastIndex(of: UInt8(ascii: "@")) else { return nil }
        let domain = text[text.utf8.index(after: at)...].prefix { $0 != ">" && $0 != " " && $0 != "," && $0 != ";" && $0 != ")" }
        return domain.isEmpty ? nil : domain.lowercased()
    }

    static let pieces: [String] = [
        "Alice", " ", "\"Bob, Jr.\"", "<", ">", "@", "@", "a", "B", "Example", ".COM", "example.com", "mail.Example.org",
        ",", ";", ")", "(", "\t", "\r\n", "\\", "\"", "x", "é", "e\u{301}", "<\u{301}", ">\u{301}", " \u{301}", "@\u{301}",
        "\u{212A}", "İ", "🙂", "ß", String(repeating: "long", count: 40),
    ]

    @Test("Scenario: 40,000 seeded random From values (brackets, quotes, several @, delimiters, non-ASCII); same domain as before")
    func randomValuesMatchTheCharacterScan() {
        var rng = SplitMix64(seed: 0xF2_0D0A_1200_0026)
        var found = 0
        for i in 0..<40_000 {
            let value = (0..<Int.random(in: 0...9, using: &rng)).map { _ in Self.pieces.randomElement(using: &rng)! }.joined()
            let expected = Self.oldAddressDomain(value)
            #expect(SendingDomains.addressDomain(inHeader: value) == expected, "case \(i): \(value.debugDescription)")
            if expected != nil { found += 1 }
        }
        #expect(found > 5_000)
    }

    @Test("Scenario: common From shapes give the lower-cased domain")
    func commonShapes() {
        #expect(SendingDomains.addressDomain(inHeader: "Alice <alice@Mail.Example.COM>") == "mail.example.com")
        #expect(SendingDomains.addressDomain(inHeader: "bob@example.org") == "example.org")
        #expect(SendingDomains.addressDomain(inHeader: "\"a@b\" <c@d.test>, e@f.test") == "d.test")
        #expect(SendingDomains.addressDomain(inHeader: "no address") == nil)
        #expect(SendingDomains.addressDomain(inHeader: "x@") == nil)
    }
}
