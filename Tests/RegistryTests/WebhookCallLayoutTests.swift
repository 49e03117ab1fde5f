import SendarixSupport
import Testing
@testable import Registry

/// Batch leases read pending calls by `WebhookCall.binaryLayout` (no event copied), and batch
/// results write finished calls with `WebhookCall.retiredRecord` (stored bytes with fields
/// written in): both must agree with decoding the whole record and encoding it again.
@Suite("Webhook call records read in place")
struct WebhookCallLayoutTests {
    /// The same sequence for the same seed (the project's SplitMix64).
    typealias Seeded = SplitMix64

    static let pieces = ["", "a", "ep_1", "é", "日本語", "\"q\\b\"", "\u{0}\u{1F}", "msg_12_3", String(repeating: "x", count: 300), "🙂"]

    static func text(_ g: inout Seeded) -> String {
        (0..<Int.random(in: 0...3, using: &g)).map { _ in pieces.randomElement(using: &g)! }.joined()
    }

    static func attempt(_ g: inout Seeded) -> WebhookCall.Attempt {
        .init(attempt: UInt32.random(in: 0...20, using: &g), at: Int64.random(in: -5...Int64.max, using: &g),
              status: Int.random(in: -1...600, using: &g), latencyMillis: Int64.random(in: 0...100_000, using: &g),
              response: text(&g), node: text(&g))
    }

    /// A random call: every optional part present or not, strings from `pieces`.
    static func call(_ g: inout Seeded) -> WebhookCall {
        var c = WebhookCall(endpoint: text(&g), sequence: g.next(), webhookID: text(&g), eventType: text(&g),
                            createdAt: Int64(bitPattern: g.next()), payload: Bool.random(using: &g) ? "" : text(&g))
        if Bool.random(using: &g) { c.eventRecord = (0..<Int.random(in: 0...600, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) } }
        c.status = [.pending, .delivered, .failed].randomElement(using: &g)!
        c.attempts = UInt32.random(in: 0...30, using: &g)
        c.nextAttemptAt = Int64(bitPattern: g.next())
        if Bool.random(using: &g) {
            c.lease = .init(owner: text(&g), incarnation: g.next(), attempt: UInt32.random(in: 0...9, using: &g),
                            expiresAt: Int64(bitPattern: g.next()))
        }
        c.history = (0..<Int.random(in: 0...4, using: &g)).map { _ in attempt(&g) }
        if Bool.random(using: &g) { c.batch = .init(id: text(&g), size: UInt32.random(in: 1...100, using: &g)) }
        return c
    }

    @Test("For valid, truncated, extended and byte-flipped records (seeded random), the layout exists exactly when the record decodes, and the head holds the decoded fields")
    func layoutAgreesWithDecoding() throws {
        var g = Seeded(state: 26)
        var decoded = 0, refused = 0
        for _ in 0..<3000 {
            let c = Self.call(&g)
            var bytes = c.binaryEncoded()
            switch Int.random(in: 0..<4, using: &g) {
            case 0: break
            case 1: bytes.removeLast(Int.random(in: 0...min(bytes.count, 12), using: &g))
            case 2: bytes.append(contentsOf: [0, 1, 2].prefix(Int.random(in: 1...3, using: &g)))
            default:
                let i = Int.random(in: 0..<bytes.count, using: &g)
                bytes[i] = UInt8.random(in: 0...255, using: &g)
            }
            let whole = try? WebhookCall(binary: bytes)
            bytes.withUnsafeBytes { raw in
                let layout = WebhookCall.binaryLayout(raw)
                #expect((layout != nil) == (whole != nil), "layout of \(bytes.count) bytes")
                guard let layout, let whole else { refused += 1; return }
                decoded += 1
                #expect(layout.event.map { Array(raw[$0].dropFirst(4)) } == whole.eventRecord)
                #expect(WebhookBatchReads.CallHead(head: raw, layout: layout, withID: true) == WebhookBatchReads.CallHead(whole))
                var noID = WebhookBatchReads.CallHead(whole)
                noID.webhookID = ""
                #expect(WebhookBatchReads.CallHead(head: raw, layout: layout, withID: false) == noID)
            }
        }
        #expect(decoded > 1000 && refused > 500, "both kinds seen: \(decoded) decoded, \(refused) refused")
    }

    @Test("A retired record written from the stored bytes equals the decoded call, changed, encoded again (seeded random calls, histories, batches; strings not valid UTF-8 are flagged)")
    func retiredRecordAgreesWithEncoding() throws {
        var g = Seeded(state: 10)
        for _ in 0..<2000 {
            let stored = Self.call(&g)
            let r = CallRetirement(endpoint: stored.endpoint, sequences: [stored.sequence],
                                   status: Bool.random(using: &g) ? .delivered : .failed, attempts: UInt32.random(in: 0...12, using: &g),
                                   history: (0..<Int.random(in: 0...12, using: &g)).map { _ in Self.attempt(&g) },
                                   batch: Bool.random(using: &g) ? .init(id: Self.text(&g), size: UInt32.random(in: 1...64, using: &g)) : nil)
            let expected = r.finished(try WebhookCall(binary: stored.binaryEncoded())).binaryEncoded()
            let tail = WebhookCall.retiredTail(history: r.history, batch: r.batch)
            stored.binaryEncoded().withUnsafeBytes { raw in
                guard let layout = WebhookCall.binaryLayout(raw) else { Issue.record("no layout"); return }
                #expect(layout.stringsAreValidUTF8)
                let spliced = WebhookCall.retiredRecord(raw, layout: layout, status: r.status, attempts: r.attempts,
                                                        batched: r.batch != nil, tail: tail)
                #expect(spliced == expected)
            }
        }
        // A record whose event type is not valid UTF-8 (decoding would repair it) says so.
        var bad = WebhookCall(endpoint: "ep", sequence: 1, webhookID: "msg_1_0", eventType: "ok", createdAt: 0, payload: "").binaryEncoded()
        let at = bad.firstRange(of: Array("ok".utf8))!.lowerBound
        bad[at] = 0xC3
        bad.withUnsafeBytes { #expect(WebhookCall.binaryLayout($0)?.stringsAreValidUTF8 == false) }
    }

    @Test("Seeded random payloads of 0-40 bytes with a non-ASCII byte (valid UTF-8 or not) at a random position, or none: the layout flags the strings as valid UTF-8 exactly when decoding gives the same bytes (the eight-bytes-at-a-time ASCII test)")
    func utf8FlagAtEveryPosition() {
        var g = Seeded(seed: 11)
        for _ in 0..<300 {
            let n = Int.random(in: 0...40, using: &g)
            var payload = (0..<n).map { _ in UInt8.random(in: 0x20...0x7E, using: &g) }
            if n > 0, Bool.random(using: &g) {
                let at = Int.random(in: 0..<n, using: &g)
                payload[at] = [0x80, 0xC3, 0xFF, 0xE6].randomElement(using: &g)!
                if payload[at] == 0xC3, at + 1 < n, Bool.random(using: &g) { payload[at + 1] = 0xA9 }  // "é"
            }
            var raw = WebhookCall(endpoint: "ep", sequence: 1, webhookID: "msg_1_0", eventType: "ok", createdAt: 0,
                                  payload: String(repeating: "p", count: n)).binaryEncoded()
            let run = raw.withUnsafeBytes { WebhookCall.binaryLayout($0)!.payload }
            raw.replaceSubrange(run, with: payload)
            let valid = String(decoding: payload, as: UTF8.self).utf8.elementsEqual(payload)
            raw.withUnsafeBytes { #expect(WebhookCall.binaryLayout($0)?.stringsAreValidUTF8 == valid, "\(payload)") }
        }
    }
}
