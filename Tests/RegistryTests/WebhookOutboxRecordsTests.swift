import Testing
@testable import Registry

/// Recording an event writes each endpoint's pending call with `WebhookOutbox.pendingRecords`
/// (bytes written directly): it must store what `WebhookOutbox.calls` gives, encoded.
@Suite("Webhook outbox records written directly")
struct WebhookOutboxRecordsTests {
    @Test("For seeded random routes (tenants, filters, unicode ids), event types, tenants, positions and event records, the keys and records equal the encoded calls, in the same order, and the event is asked for only when a route wants it")
    func sameAsEncodedCalls() {
        var g = WebhookCallLayoutTests.Seeded(state: 7)
        let types = ["message.queued", "message.delivered", "message.bounced", "é.type", ""]
        let tenants = ["acme", "other", "", "日本"]
        for _ in 0..<2000 {
            let routes = (0..<Int.random(in: 0...4, using: &g)).map { i in
                WebhookRoute(id: ["ep_\(i)", "ép/\(i)", String(repeating: "e", count: 40) + "\(i)"].randomElement(using: &g)!,
                             tenant: (tenants + ["*"]).randomElement(using: &g)!,
                             events: (0..<Int.random(in: 0...2, using: &g)).map { _ in (types + ["*"]).randomElement(using: &g)! })
            }
            let type = types.randomElement(using: &g)!, tenant = tenants.randomElement(using: &g)!
            let index = UInt64.random(in: 0...UInt64.max >> 16, using: &g), ordinal = Int.random(in: 0...70_000, using: &g)
            let at = Int64(bitPattern: g.next())
            let event = (0..<Int.random(in: 0...700, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
            let expected = WebhookOutbox.calls(routes: routes, type: type, tenant: tenant, index: index, ordinal: ordinal, at: at,
                                               eventRecord: { event })
                .map { (endpoint: $0.call.endpoint, key: Array($0.key.utf8), record: RegistryRecord.webhookCall($0.call).encoded()) }
            var got: [(endpoint: String, key: [UInt8], record: [UInt8])] = []
            var asked = 0
            WebhookOutbox.pendingRecords(routes: routes, type: type, tenant: tenant, index: index, ordinal: ordinal, at: at,
                                         eventRecord: { asked += 1; return event }) { got.append(($0, $1, $2)) }
            #expect(got.map(\.endpoint) == expected.map(\.endpoint))
            #expect(got.map(\.key) == expected.map(\.key))
            #expect(got.map(\.record) == expected.map(\.record))
            #expect(asked == (expected.isEmpty ? 0 : 1))
        }
    }
}

extension WebhookOutboxRecordsTests {
    @Test("For seeded random and edge log indices and ordinals (0, 9, 10, maxima, negative), the webhook id written as bytes equals the id string")
    func webhookIDBytesEqualString() {
        var g = WebhookCallLayoutTests.Seeded(state: 11)
        let edges: [(UInt64, Int)] = [(0, 0), (9, 9), (10, 10), (UInt64.max, Int.max), (UInt64.max >> 16, 65_535), (1, -1), (7, Int.min)]
        let random = (0..<5000).map { _ in (UInt64.random(in: 0...UInt64.max, using: &g) >> UInt64.random(in: 0...63, using: &g),
                                           Int.random(in: 0...70_000, using: &g)) }
        for (index, ordinal) in edges + random {
            #expect(WebhookOutbox.webhookIDBytes(index: index, ordinal: ordinal)
                    == Array(WebhookOutbox.webhookID(index: index, ordinal: ordinal).utf8))
        }
    }
}
