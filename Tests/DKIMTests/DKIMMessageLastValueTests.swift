import SendarixSupport
import Testing
@testable import DKIM

/// `DKIMMessage.lastValue(of:)` compares and trims ASCII fields as bytes (it reads the From field
/// of every accepted message); these tests hold it to the string version it replaced.
@Suite("DKIM message: last field value, byte path equals the string path")
struct DKIMMessageLastValueTests {
    /// The string version before the byte path (the oracle).
    static func oldLastValue(_ message: DKIMMessage, _ name: String) -> String? {
        let wanted = name.lowercased()
        guard let index = message.fields.indices.last(where: { message.name($0) == wanted }) else { return nil }
        let field = message.bytes[message.fields[index]]
        guard let colon = field.firstIndex(of: 0x3A) else { return nil }
        let value = field[(colon + 1)...].filter { $0 != 0x0D && $0 != 0x0A }
        var s = Substring(String(decoding: value, as: UTF8.self))
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }

    static let names = ["From", "from", "FROM", "fRoM ", "From\t", "To", "Subject", "X-From", "Fröm", "\u{212A}", "k", "K", "Fr\u{301}om", ";", "\u{037E}", ""]
    static let values = [
        "", " ", "\t", " Alice <a@example.com>", "a@b.test ", "  \t x \t ", " \u{301}x", "x \u{301}", "\u{0600} ", " é ",
        "\"Bob\" <bob@ex.org>", "🙂 <e@x.test>", "line\r\n continued", "\r\n\tfolded@x.test",
    ]

    @Test("Scenario: 10,000 seeded random header sections (names in any case, trailing blanks, non-ASCII, folding); same value as before")
    func randomHeadersMatchTheStringVersion() {
        var rng = SplitMix64(seed: 0xD1C1_7A57_0000_0026)
        var found = 0
        for i in 0..<10_000 {
            var text = ""
            for _ in 0..<Int.random(in: 0...5, using: &rng) {
                let name = Self.names.randomElement(using: &rng)!
                let colon = Int.random(in: 0..<10, using: &rng) == 0 ? "" : ":"
                text += name + colon + Self.values.randomElement(using: &rng)! + "\r\n"
            }
            text += "\r\nbody From: x@y.test\r\n"
            let message = DKIMMessage(Array(text.utf8))
            for wanted in ["from", "From", "k", ";", "\u{212A}", "fröm", "subject"] {
                let expected = Self.oldLastValue(message, wanted)
                #expect(message.lastValue(of: wanted) == expected, "case \(i) \(wanted): \(text.debugDescription)")
                if expected != nil { found += 1 }
            }
        }
        #expect(found > 10_000)
    }
}
