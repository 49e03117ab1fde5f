import Testing
@testable import Registry

/// `isDomainName` runs for every accepted message (the From domain and each parent), so it scans
/// bytes instead of splitting; these tests hold it to the split-based definition it replaced.
@Suite("Domain name check")
struct DomainNameCheckTests {
    /// The definition before the byte scan, kept as the oracle.
    static func splitOracle(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= RegistryMachine.maxDomainLength else { return false }
        let labels = s.split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { RegistryMachine.isLabel(String($0)) }
    }

    /// A small seeded generator (xorshift64*), so a failure names an input that can be replayed.
    struct Xorshift: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return state &* 0x2545_F491_4F6C_DD1D
        }
    }

    /// Pieces that sit at the edges of the rule: dots, hyphens, underscores, upper case, non-ASCII
    /// (a combining mark after a dot, a prepended mark before one), CR LF, spaces, long labels.
    static let pieces: [String] = [
        "a", "b", "Z", "0", "9", "-", "_", ".", ".", ".", "example", "mail", "co", "xn--bcher-kva", "é",
        "e\u{301}", ".\u{301}", "\u{0600}.", "\r\n", " ", "@", "\u{212A}", "ß", "🙂",
        String(repeating: "a", count: 62), String(repeating: "b", count: 63), String(repeating: "c", count: 64),
    ]

    static let nameLike = ["a", "Z", "0", "_", "-", ".", ".", "example", "co", "mail"]

    @Test("Scenario: 20,000 seeded random strings built from edge pieces; the byte scan answers as the split did")
    func randomInputsMatchTheSplitDefinition() {
        var rng = Xorshift(state: 0x5EED_0000_0000_0026)
        var accepted = 0
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...8, using: &rng)
            // Half the strings from name-like pieces only, so that valid names are common too.
            let pool = Bool.random(using: &rng) ? Self.pieces : Self.nameLike
            let s = (0..<count).map { _ in pool.randomElement(using: &rng)! }.joined()
            let expected = Self.splitOracle(s)
            #expect(RegistryMachine.isDomainName(s) == expected, "input \(s.debugDescription)")
            if expected { accepted += 1 }
        }
        // Both answers must be exercised, or the comparison proves little.
        #expect(accepted > 1_000)
    }

    @Test("Scenario: names at the limits (253 bytes, 63-byte labels, hyphens at label edges, one label)")
    func limitsMatchTheSplitDefinition() {
        let label63 = String(repeating: "a", count: 63)
        let cases = [
            "", ".", "a.", ".a", "a..b", "a.b", "localhost", "-a.b", "a-.b", "a.-b", "a.b-", "a-b.c_d", "A.B",
            [label63, label63, label63, String(repeating: "d", count: 61)].joined(separator: "."),  // 253
            [label63, label63, label63, String(repeating: "d", count: 62)].joined(separator: "."),  // 254
            label63 + ".x", label63 + "a.x", "exa mple.com", "example.com\r\n", "bücher.example",
        ]
        for s in cases {
            #expect(RegistryMachine.isDomainName(s) == Self.splitOracle(s), "input \(s.debugDescription)")
        }
        #expect(RegistryMachine.isDomainName("mail.example.com"))
        #expect(!RegistryMachine.isDomainName("example"))
    }
}
