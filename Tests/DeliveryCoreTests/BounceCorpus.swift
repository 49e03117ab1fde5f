import Foundation
import DeliveryCore

/// One published receiver reply and how it must classify (a line of Fixtures/bounce-corpus.jsonl;
/// see Fixtures/README.md for the sources and how labels were assigned).
struct BounceCorpusEntry: Sendable, Decodable {
    let reply: String
    let expectedClass: String
    let hardness: String
    let provider: String
    let source: String
    let split: String

    /// The reply parsed; a quoted first line of a multi-line reply ("550-5.7.26 …") is read as final.
    var parsed: SMTPReply? {
        if let reply = SMTPReply(parsing: reply) { return reply }
        guard reply.count > 4, reply.utf8.dropFirst(3).first == UInt8(ascii: "-") else { return nil }
        var text = reply
        text.replaceSubrange(text.index(text.startIndex, offsetBy: 3)...text.index(text.startIndex, offsetBy: 3), with: " ")
        return SMTPReply(parsing: text)
    }

    /// FNV-1a 32 of the reply's UTF-8 bytes, the split rule's input.
    var fnv1a: UInt32 {
        var hash: UInt32 = 0x811c_9dc5
        for byte in reply.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 0x0100_0193
        }
        return hash
    }
}

/// Reads one JSON-lines fixture next to this file.
func loadBounceFixture(_ name: String) -> [BounceCorpusEntry] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/" + name)
    guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
    let decoder = JSONDecoder()
    return text.split(separator: "\n").compactMap { try? decoder.decode(BounceCorpusEntry.self, from: Data($0.utf8)) }
}

/// The corpus, read once from the fixture next to this file.
let bounceCorpus: [BounceCorpusEntry] = loadBounceFixture("bounce-corpus.jsonl")

/// Pool 4: sisimai's labelled error-message texts (no reply code), split into `tune4` and `heldout4`
/// by a fixed seed (Fixtures/bounce-pool4.py, Fixtures/README.md). Classified as text only.
let bouncePool4: [BounceCorpusEntry] = loadBounceFixture("bounce-pool4.jsonl")

/// Pool 5: PHP-Bounce-Handler's response table (texts with the RFC 3463 code that project gives them),
/// split into `tune5` and `heldout5` by a fixed seed (Fixtures/bounce-pool5.py, Fixtures/README.md).
/// Classified as text only, like pool 4.
let bouncePool5: [BounceCorpusEntry] = loadBounceFixture("bounce-pool5.jsonl")

/// Pool 6: the texts of p5-sisimai's reason index that go-sisimai's (pool 4) does not hold, split into
/// `tune6` and `heldout6` by a fixed seed (Fixtures/bounce-pool6.py, Fixtures/README.md). Text only.
let bouncePool6: [BounceCorpusEntry] = loadBounceFixture("bounce-pool6.jsonl")

/// Pool 7: the sample replies of PHPMailer-BMH's rule table, all held out (`heldout7`;
/// Fixtures/bounce-pool7.py, Fixtures/README.md). Text only.
let bouncePool7: [BounceCorpusEntry] = loadBounceFixture("bounce-pool7.jsonl")

/// Pool 8: ZoneMTA's bounce rule samples and @postalsys/bounce-classifier's test replies, all held out
/// (`heldout8`; Fixtures/bounce-pool8.py, Fixtures/README.md). Replies with their codes, compared on
/// family and hardness like corpus entries.
let bouncePool8: [BounceCorpusEntry] = loadBounceFixture("bounce-pool8.jsonl")

/// Pool 9: KumoMTA's community bounce rules and crisp email-bounce-parser's labelled fixtures, all held out
/// (`heldout9`, round 6's held-out set; Fixtures/bounce-pool9.py, Fixtures/README.md). Replies with their codes,
/// compared on family and hardness like corpus entries.
let bouncePool9: [BounceCorpusEntry] = loadBounceFixture("bounce-pool9.jsonl")

/// Pool 10: Postfix's own smtpd/postscreen reply texts, labelled by the restriction that emits them, all held out
/// (`heldout10`, round 7's held-out set; Fixtures/bounce-pool10.py, Fixtures/README.md). Replies with their codes,
/// compared on family and hardness like corpus entries.
let bouncePool10: [BounceCorpusEntry] = loadBounceFixture("bounce-pool10.jsonl")
