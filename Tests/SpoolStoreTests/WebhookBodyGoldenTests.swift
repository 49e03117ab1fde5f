import Registry
import SendarixSupport
import Testing
import TestSupport
@testable import SpoolStore

/// The webhook bodies are the bytes receivers verify signatures over: a faster renderer must write
/// exactly what the renderer of issue 10 wrote. The expectations below are digests of that
/// renderer's output over seeded random events, captured before it was replaced.
@Suite("Webhook body bytes stay the same")
struct WebhookBodyGoldenTests {
    /// Pieces strings are made of: empty, ASCII, JSON escapes, control characters, `/`, unicode
    /// (2-, 3- and 4-byte, combining, separators, BOM), a long run.
    static let pieces = ["", "a", "plain", " ", "x@acme.test", "550 5.1.1 <bob@example.test>: user unknown", "é", "ü", "😀",
                         "日本語", "e\u{301}", "\u{2028}", "\u{FEFF}", "\"", "\\", "/", "//", "\n", "\r\n", "\t", "\u{0}",
                         "\u{1}", "\u{8}", "\u{C}", "\u{1F}", "\u{7F}", "<>&'", "{\"k\":[1]}", String(repeating: "ab/", count: 120)]

    static func text(_ rng: inout SplitMix64) -> String {
        var s = ""
        for _ in 0..<Int(rng.next() % 5) { s += pieces[Int(rng.next() % UInt64(pieces.count))] }
        return s
    }

    static func maybe(_ rng: inout SplitMix64) -> String? { rng.next() % 2 == 0 ? text(&rng) : nil }

    /// A seeded random event of kind `kind`; every optional field present or not.
    static func event(_ kind: Event.Kind, _ rng: inout SplitMix64) -> Event {
        let times: [Int64] = [0, 1, 999, 1_764_979_200_123, -86_400_001, 253_402_300_799_999, 4_102_444_800_000]
        let millis = rng.next() % 3 == 0 ? times[Int(rng.next() % UInt64(times.count))] : Int64(rng.next() % 4_102_444_800_000)
        return Event(id: "\(rng.next() % 100_000)-\(rng.next() % 50)", type: kind, messageId: text(&rng), queueId: text(&rng),
                     tenant: text(&rng), sender: text(&rng), recipient: text(&rng), timestampMillis: millis,
                     smtpCode: rng.next() % 2 == 0 ? [0, 250, 421, 550, 999, 70_000][Int(rng.next() % 6)] : nil,
                     enhancedCode: maybe(&rng), response: maybe(&rng), remoteHost: maybe(&rng),
                     attempt: rng.next() % 2 == 0 ? Int(rng.next() % 40) : nil, bounceClass: maybe(&rng),
                     sendingIP: maybe(&rng), pool: maybe(&rng))
    }

    /// An event record whose strings are not valid UTF-8 (decoded with U+FFFD replacements).
    static func invalidUTF8Record(_ rng: inout SplitMix64) -> [UInt8] {
        let bad: [[UInt8]] = [[0xFF], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0x61, 0x80, 0x62], [0xF4, 0x90, 0x80, 0x80]]
        func s(_ w: inout BinaryWriter) {
            let b = rng.next() % 2 == 0 ? bad[Int(rng.next() % UInt64(bad.count))] : Array(text(&rng).utf8)
            w.u32(UInt32(b.count))
            for x in b { w.u8(x) }
        }
        var w = BinaryWriter()
        w.u8(Event.recordVersion)
        s(&w)
        w.u8(UInt8(rng.next() % 18))
        for _ in 0..<5 { s(&w) }
        w.i64(Int64(rng.next() % 4_102_444_800_000))
        w.u8(0xFF)
        w.u32(550)
        s(&w); s(&w); s(&w)
        w.u32(3)
        s(&w); s(&w); s(&w)
        return w.bytes
    }

    /// Seeded random calls: events of every kind, calls of older builds (a rendered payload, some
    /// not a JSON object), records that do not decode (bad version, truncated, trailing bytes,
    /// unknown kind) and records with invalid UTF-8.
    static func calls(seed: UInt64, count: Int) -> [WebhookCall] {
        var rng = SplitMix64(seed: seed)
        var out: [WebhookCall] = []
        for i in 0..<count {
            let sequence = rng.next() % 3 == 0 ? UInt64(i) : rng.next()
            var call = WebhookCall(endpoint: "ep_a", sequence: sequence, webhookID: "msg_" + text(&rng), eventType: "accepted",
                                   createdAt: 1, payload: "")
            let record = event(Event.Kind.allCases[i % Event.Kind.allCases.count], &rng).encoded()
            switch rng.next() % 20 {
            case 0: call.payload = "{\"id\":\"\(i)\",\"type\":\"accepted\",\"sequence\":\(sequence)}"
            case 1: call.payload = text(&rng)
            case 2: call.eventRecord = [2] + record.dropFirst()
            case 3: call.eventRecord = Array(record.prefix(Int(rng.next() % UInt64(record.count))))
            case 4: call.eventRecord = record + [0]
            case 5: call.eventRecord = invalidUTF8Record(&rng)
            case 6:
                var r = record
                r[5 + Int(r[4])] = 200  // the kind byte after the (short) id: an unknown kind
                call.eventRecord = r
            default: call.eventRecord = record
            }
            out.append(call)
        }
        return out
    }

    @Test("Lone bodies, batch bodies (shuffled calls, batches of 1 to 60) and event JSON of 3,000 seeded random calls are the bytes the issue-10 renderer wrote")
    func sameBytesAsBefore() throws {
        let calls = Self.calls(seed: 0x5EED_0010, count: 3000)
        var lone = ByteDigest(), batch = ByteDigest(), json = ByteDigest()
        for c in calls {
            let bytes = SpoolStore.webhookBodyBytes(c)
            #expect(Array(SpoolStore.webhookBody(c).utf8) == bytes)
            lone.add(bytes)
            if let record = c.eventRecord, let event = try? record.withUnsafeBytes({ try Event(decoding: $0) }) {
                json.add(event.webhookJSON(sequence: c.sequence))
                // Rendered from the record's bytes, as from the decoded event.
                #expect(bytes == event.webhookJSON(sequence: c.sequence), "\(event)")
            }
        }
        var rng = SplitMix64(seed: 77)
        var at = 0
        while at < calls.count {
            let n = 1 + Int(rng.next() % 60)
            var chunk = Array(calls[at..<min(calls.count, at + n)])
            for i in chunk.indices.reversed() { chunk.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            batch.add(SpoolStore.webhookBatchBody(chunk))
            at += n
        }
        #expect((lone.value, lone.bytes) == (2_838_888_581_568_737_823, 1_237_057), "lone bodies")
        #expect((batch.value, batch.bytes) == (18_012_275_078_834_748_342, 1_421_479), "batch bodies")
        #expect((json.value, json.bytes) == (3_050_802_517_801_192_553, 1_207_619), "event JSON")
    }

    @Test("A body of every field, escapes and unicode reads as it did")
    func literalBody() {
        let e = Event(id: "7-1", type: .bounced, messageId: "<m/1@x>", queueId: "Q\"1", tenant: "t\\", sender: "é@x",
                      recipient: "😀@y", timestampMillis: 1_764_979_200_123, smtpCode: 550, enhancedCode: "5.1.1",
                      response: "no\nsuch\tuser\u{1}", remoteHost: "mx", attempt: 2, bounceClass: "hard", sendingIP: "10.0.0.1",
                      pool: "p")
        var call = WebhookCall(endpoint: "ep", sequence: 42, webhookID: "msg_7_1", eventType: "bounced", createdAt: 1, payload: "")
        call.eventRecord = e.encoded()
        #expect(SpoolStore.webhookBody(call) == #"{"attempt":2,"bounceClass":"hard","enhancedCode":"5.1.1","id":"7-1","#
                + #""messageId":"<m\/1@x>","pool":"p","queueId":"Q\"1","recipient":"😀@y","remoteHost":"mx","#
                + #""response":"no\nsuch\tuser\u0001","sender":"é@x","sendingIP":"10.0.0.1","smtpCode":550,"tenant":"t\\","#
                + #""timestamp":"2025-12-06T00:00:00.123Z","type":"bounced","sequence":42}"#)
    }
}
