import SendarixSupport
import Testing
@testable import DeliveryCore

/// `Provider.recognize(mxHost:)` matches ASCII hosts as bytes (it runs per attempt and outcome);
/// these tests hold it to the lower-casing string version it replaced.
@Suite("Provider recognition: byte matching equals the string version")
struct ProviderRecognitionEquivalenceTests {
    /// The string version before the byte path (the oracle).
    static func oldRecognize(_ mxHost: String) -> Provider {
        var host = mxHost.lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        for (suffix, provider) in Provider.mxSuffixes where host == suffix || host.hasSuffix("." + suffix) {
            return provider
        }
        return .other
    }

    static let pieces: [String] = [
        "", ".", "..", "aspmx", "l", "mx", "-", "mail", "example-com", "protection", "outlook", "google", "GOOGLE",
        "com", "COM", "Com", "me", "zoho", "au", "co", "za", "pphosted", "ppe-hosted", "hosted", "microsoft", "mx.microsoft",
        "yahoodns", "net", "x", "\u{212A}", "\u{0130}", "é", "e\u{301}", ".\u{301}", "\u{0600}", "🙂", "\r\n", " ",
    ]

    @Test("Scenario: 30,000 seeded random host names (every suffix, mixed case, trailing dots, non-ASCII); same provider as before")
    func randomHostsMatchTheStringVersion() {
        var rng = SplitMix64(seed: 0x9A0F_1DE2_0000_0026)
        var recognised = 0
        for i in 0..<30_000 {
            var parts: [String] = []
            for _ in 0..<Int.random(in: 0...4, using: &rng) {
                parts.append(Self.pieces.randomElement(using: &rng)!)
            }
            if Bool.random(using: &rng) {
                var suffix = Provider.mxSuffixes.randomElement(using: &rng)!.suffix
                if Bool.random(using: &rng) { suffix = suffix.uppercased() }
                parts.append(suffix)
            }
            let separator = [".", ".", ".", "", "-"].randomElement(using: &rng)!
            var host = parts.joined(separator: separator)
            if Int.random(in: 0..<4, using: &rng) == 0 { host += "." }
            let expected = Self.oldRecognize(host)
            #expect(Provider.recognize(mxHost: host) == expected, "case \(i): \(host.debugDescription)")
            if expected != .other { recognised += 1 }
        }
        #expect(recognised > 5_000)
    }

    @Test("Scenario: each suffix alone, with a dot, as a label's tail without a dot, and behind the Kelvin sign")
    func edges() {
        for (suffix, _) in Provider.mxSuffixes {
            for host in [suffix, suffix + ".", "a." + suffix, "a" + suffix, "." + suffix, suffix + "..", "A." + suffix.uppercased(),
                         String(suffix.dropFirst()), "\u{212A}." + suffix] {
                #expect(Provider.recognize(mxHost: host) == Self.oldRecognize(host), "\(host.debugDescription)")
            }
        }
        #expect(Provider.recognize(mxHost: "mx.mimecast.co.za") == .mimecast)
        #expect(Provider.recognize(mxHost: "") == .other)
    }
}
