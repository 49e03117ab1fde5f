import CLMDB
import Foundation
import Registry
import Testing
@testable import SpoolStore

/// What the dispatcher reads from the outbox: calls stored as binary records holding the event,
/// the body rendered from it at send time, and the due calls of a round without the ones in flight.
@Suite("Webhook outbox reads for the dispatcher")
struct WebhookDispatchStoreTests {
    static let t0: Int64 = 1_700_000_000_000
    static let secret = "whsec_" + Data(repeating: 3, count: 32).base64EncodedString()

    static func endpoint(_ id: String) -> WebhookEndpoint {
        WebhookEndpoint(id: id, tenant: "acme", url: "https://h.example/", events: [], secret: secret, createdAt: t0)
    }

    /// A fresh store with its log and endpoint `ep_a` (every event of tenant acme). Stop the log.
    static func outbox() async throws -> (TempDirectory, SpoolStore, LocalLog) {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        _ = try await log.proposeAndWait(.registry(.webhook(.create(endpoint("ep_a"))))).get()
        return (dir, store, log)
    }

    @Test("A recorded event becomes a binary call holding the event; the body rendered at send time equals the event's API JSON plus sequence")
    func bodyRenderedAtSendTime() async throws {
        let (dir, store, log) = try await Self.outbox()
        defer { log.stop(); _ = dir }
        _ = try await log.proposeAndWait(makeEnqueue("Q1", recipients: ["r\"1@x.test"], sender: "s@acme.test", at: Self.t0)).get()
        let call = try #require(try store.pendingWebhookCalls("ep_a", limit: 10).first)
        #expect(call.payload.isEmpty && call.eventRecord != nil, "no JSON is rendered while the event is recorded")
        let raw = try #require(try store.read { txn in
            try txn.get(store.dbRegistry, Array(RegistryKeys.webhookPending("ep_a", call.sequence).utf8)).map { Array($0) }
        })
        #expect(raw.first == WebhookCall.binaryMagic, "the call is stored as a binary record, not JSON")

        let event = try #require(try store.eventFeed(after: nil, limit: 10).first { "msg_\($0.id.replacingOccurrences(of: "-", with: "_"))" == call.webhookID })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let eager = WebhookOutbox.payload(eventJSON: Array(try encoder.encode(event)), sequence: call.sequence)
        #expect(SpoolStore.webhookBody(call) == eager, "the event's JSON (sorted keys) plus sequence")
        #expect(SpoolStore.webhookBody(call) == SpoolStore.webhookBody(call), "every attempt sends the same bytes")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(SpoolStore.webhookBody(call).utf8)) as? [String: Any])
        #expect(json["queueId"] as? String == "Q1" && json["recipient"] as? String == "r\"1@x.test")
        #expect((json["sequence"] as? NSNumber)?.uint64Value == call.sequence && json["type"] as? String == "accepted")

        // A call stored with its body already rendered (older builds) is sent as it is.
        var old = call
        old.eventRecord = nil
        old.payload = "{\"id\":\"x\",\"sequence\":1}"
        #expect(SpoolStore.webhookBody(old) == old.payload)
    }

    @Test("The due calls of a round leave out calls in flight, under a live lease and not yet due, oldest first")
    func dueCallsSkipInFlight() async throws {
        let (dir, store, log) = try await Self.outbox()
        defer { log.stop(); _ = dir }
        for i in 0..<6 {
            _ = try await log.proposeAndWait(makeEnqueue("Q\(i)", at: Self.t0 + Int64(i))).get()
        }
        let all = try store.pendingWebhookCalls("ep_a", limit: 100).map(\.sequence)
        #expect(all.count == 6)
        let now = Self.t0 + 100
        #expect(try store.dueWebhookCalls("ep_a", now: now, skipping: [], limit: 100).map(\.sequence) == all)
        #expect(try store.dueWebhookCalls("ep_a", now: Self.t0 + 2, skipping: [], limit: 100).map(\.sequence) == Array(all[0...2]),
                "calls of later events are not due yet")
        // Lease the first two to another node: they are not due until the lease expires.
        _ = try await log.proposeAndWait(.registry(.webhook(.claim(.init(endpoint: "ep_a", sequences: Array(all[0...1]), owner: "n2",
                                                                            incarnation: 9, issuedAt: now, expiresAt: now + 1000))))).get()
        #expect(try store.dueWebhookCalls("ep_a", now: now, skipping: [all[2], all[4]], limit: 100).map(\.sequence) == [all[3], all[5]])
        #expect(try store.dueWebhookCalls("ep_a", now: now, skipping: [], limit: 2).map(\.sequence) == [all[2], all[3]])
        #expect(try store.dueWebhookCalls("ep_a", now: now + 1000, skipping: [], limit: 100).map(\.sequence) == all,
                "an expired lease frees the call")
        #expect(try store.dueWebhookCalls("ep_a", now: now, skipping: [], limit: 100, scan: 3).map(\.sequence) == [all[2]])
    }

    @Test("Stats tell failed from delivered calls among binary records")
    func statsCountFailedCalls() async throws {
        let (dir, store, log) = try await Self.outbox()
        defer { log.stop(); _ = dir }
        for i in 0..<3 {
            _ = try await log.proposeAndWait(makeEnqueue("Q\(i)", at: Self.t0)).get()
        }
        let seqs = try store.pendingWebhookCalls("ep_a", limit: 10).map(\.sequence)
        let now = Self.t0 + 10
        _ = try await log.proposeAndWait(.registry(.webhook(.claim(.init(endpoint: "ep_a", sequences: seqs, owner: "n1",
                                                                            incarnation: 1, issuedAt: now, expiresAt: now + 1000))))).get()
        func result(_ seq: UInt64, _ verdict: WebhookCommand.Verdict) -> WebhookCommand.Result {
            .init(sequence: seq, attempt: .init(attempt: 1, at: now, status: 500, latencyMillis: 1, response: "no", node: "n1"), verdict: verdict)
        }
        _ = try await log.proposeAndWait(.registry(.webhook(.results(.init(endpoint: "ep_a", owner: "n1", incarnation: 1, results: [
            result(seqs[0], .delivered), result(seqs[1], .exhausted), result(seqs[2], .retry(at: now + 5))]))))).get()
        let s = try #require(try store.webhookStats().endpoints.first)
        #expect((s.pending, s.delivered, s.failed) == (1, 1, 1))
    }

    @Test("The hand-written webhook body is byte for byte JSONEncoder's sorted-keys JSON of the event plus sequence")
    func handWrittenBodyMatchesJSONEncoder() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let control = String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) })
        var full = Event(id: "12-3", type: .bounced, messageId: "<a/b@x.test>", queueId: "Q\"1", tenant: "ténant ✓",
                         sender: "s\\@x.test", recipient: "r@x.test", timestampMillis: 1_700_000_000_999, smtpCode: 550,
                         enhancedCode: "5.1.1", response: "550 " + control + " \u{7F} 😀 done", remoteHost: "mx/1.x.test",
                         attempt: 3, bounceClass: "bad-mailbox", sendingIP: "192.0.2.1", pool: "p1")
        let minimal = Event(id: "1-0", type: .domainKeysRotated, messageId: "", queueId: "", tenant: "t", sender: "",
                            recipient: "", timestampMillis: 0)
        for (event, seq) in [(full, UInt64.max), (minimal, 0)] {
            let expected = WebhookOutbox.payload(eventJSON: Array(try encoder.encode(event)), sequence: seq)
            #expect(String(decoding: event.webhookJSON(sequence: seq), as: UTF8.self) == expected)
        }
        full.response = nil
        full.smtpCode = nil
        #expect(String(decoding: full.webhookJSON(sequence: 5), as: UTF8.self)
                == WebhookOutbox.payload(eventJSON: Array(try encoder.encode(full)), sequence: 5))
    }
}
