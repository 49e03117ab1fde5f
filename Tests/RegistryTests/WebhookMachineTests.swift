import Foundation
import Testing
@testable import Registry

/// Webhooks in the control plane: the retry schedule driven by a mock clock, the outbox derived
/// from events, and leases/results/replays of outbox calls applied by the registry machine.
@Suite("Webhook schedule, outbox and call leases")
struct WebhookMachineTests {
    static let secret = "whsec_" + Data(repeating: 7, count: 32).base64EncodedString()

    static func endpoint(events: [String] = ["delivered"]) -> WebhookEndpoint {
        WebhookEndpoint(id: "ep_1", tenant: "acme", url: "https://hooks.example/in", events: events, secret: secret, createdAt: 1)
    }

    /// A store of records and a helper that applies commands to it like the spool does.
    struct Store {
        var records: [String: RegistryRecord] = [:]
        var notices: [RegistryMachine.Notice] = []

        mutating func apply(_ w: WebhookCommand) -> String? {
            let command = RegistryCommand.webhook(w)
            var current: [String: RegistryRecord] = [:]
            for k in command.keys { current[k] = records[k] }
            let t = RegistryMachine.apply(command, current: current)
            if let r = t.rejection { return r }
            for (k, r) in t.allWrites(current: current) { records[k] = r }
            notices += t.notices
            return nil
        }

        var endpoint: WebhookEndpoint? { records[RegistryKeys.webhook("ep_1")]?.webhookEndpoint }
        func pending(_ seq: UInt64) -> WebhookCall? { records[RegistryKeys.webhookPending("ep_1", seq)]?.webhookCall }
        func done(_ seq: UInt64) -> WebhookCall? { records[RegistryKeys.webhookDone("ep_1", seq)]?.webhookCall }

        /// Records the outbox entry of event (index, 0) of `type` at `at`, as the spool does.
        mutating func record(index: UInt64, type: String = "delivered", at: Int64) {
            let endpoints = records.values.compactMap(\.webhookEndpoint)
            for (k, c) in WebhookOutbox.calls(endpoints: endpoints, type: type, tenant: "acme", index: index, ordinal: 0,
                                              at: at, eventJSON: { Array("{\"type\":\"\(type)\"}".utf8) }) {
                records[k] = .webhookCall(c)
            }
        }
    }

    static func attempt(_ n: UInt32, at: Int64, status: Int) -> WebhookCall.Attempt {
        WebhookCall.Attempt(attempt: n, at: at, status: status, latencyMillis: 3, response: "x", node: "n1")
    }

    @Test("The default schedule retries 9 times over more than three days, then gives up (mock clock, no jitter)")
    func scheduleOverThreeDays() {
        let schedule = WebhookRetrySchedule(jitter: 0)
        var clock: Int64 = 1_000_000
        var times: [Int64] = []
        var attempt: UInt32 = 1
        while case .retry(let at) = schedule.afterFailure(attempt: attempt, now: clock, random: 0.5) {
            times.append(at - clock)
            clock = at  // the next attempt fails the moment it is made
            attempt += 1
        }
        #expect(times == [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000])
        #expect(attempt == 10, "the 10th failure gives up")
        #expect(clock - 1_000_000 >= 3 * 86_400_000)
    }

    @Test("Jitter stays within ±20 %, Retry-After is honoured when longer, capped at a day")
    func jitterAndRetryAfter() {
        let s = WebhookRetrySchedule()
        #expect(s.afterFailure(attempt: 2, now: 0, random: 0) == .retry(at: 240_000))
        #expect(s.afterFailure(attempt: 2, now: 0, random: 1) == .retry(at: 360_000))
        #expect(s.afterFailure(attempt: 1, now: 10, retryAfterMillis: 60_000, random: 0.5) == .retry(at: 60_010))
        #expect(s.afterFailure(attempt: 1, now: 0, retryAfterMillis: 1_000, random: 0.5) == .retry(at: 5_000))
        #expect(s.afterFailure(attempt: 1, now: 0, retryAfterMillis: 9_000_000_000, random: 0.5) == .retry(at: 86_400_000))
        #expect(s.afterFailure(attempt: 0, now: 0, random: 0.5) == .giveUp)
    }

    @Test("The outbox holds one call per endpoint that wants the event's type and tenant (disabled ones too: kept for a resume)")
    func outboxFilter() {
        var e2 = Self.endpoint(events: [])
        e2.id = "ep_2"
        var e3 = Self.endpoint(events: ["*"])
        e3.id = "ep_3"
        e3.disabled = true
        var other = Self.endpoint()
        other.id = "ep_4"
        other.tenant = "other"
        var all = Self.endpoint(events: [])
        all.id = "ep_5"
        all.tenant = "*"
        let calls = WebhookOutbox.calls(endpoints: [Self.endpoint(), e2, e3, other, all], type: "delivered", tenant: "acme",
                                        index: 7, ordinal: 2, at: 50, eventJSON: { Array("{\"id\":\"7-2\"}".utf8) })
        #expect(calls.map(\.call.endpoint) == ["ep_1", "ep_2", "ep_3", "ep_5"])
        #expect(calls[0].call.webhookID == "msg_7_2" && calls[0].call.sequence == (7 << 16 | 2))
        #expect(calls[0].call.payload == "{\"id\":\"7-2\",\"sequence\":458754}")
        #expect(WebhookOutbox.calls(endpoints: [Self.endpoint()], type: "accepted", tenant: "acme", index: 1, ordinal: 0,
                                    at: 0, eventJSON: { [] }).isEmpty)
    }

    @Test("A call is leased to one owner at a time; another node takes it only after the lease expires; stale results are ignored")
    func leases() {
        var s = Store()
        #expect(s.apply(.create(Self.endpoint())) == nil)
        s.record(index: 1, at: 100)
        let seq = WebhookOutbox.sequence(index: 1, ordinal: 0)
        func claim(_ owner: String, at: Int64) -> String? {
            s.apply(.claim(.init(endpoint: "ep_1", sequences: [seq], owner: owner, incarnation: 1, issuedAt: at, expiresAt: at + 1000)))
        }
        #expect(claim("n1", at: 50) != nil, "not due before the event time")
        #expect(claim("n1", at: 100) == nil)
        #expect(s.pending(seq)?.lease?.owner == "n1" && s.pending(seq)?.lease?.attempt == 1)
        #expect(claim("n2", at: 500) != nil, "leased by n1")
        // n1 dies; after the lease n2 takes over with the next attempt.
        #expect(claim("n2", at: 1100) == nil)
        #expect(s.pending(seq)?.lease?.owner == "n2")
        let late = WebhookCommand.Results(endpoint: "ep_1", owner: "n1", incarnation: 1,
                                          results: [.init(sequence: seq, attempt: Self.attempt(1, at: 1200, status: 200), verdict: .delivered)])
        #expect(s.apply(.results(late)) != nil, "n1's result is stale")
        let ok = WebhookCommand.Results(endpoint: "ep_1", owner: "n2", incarnation: 1,
                                        results: [.init(sequence: seq, attempt: Self.attempt(1, at: 1300, status: 204), verdict: .delivered)])
        #expect(s.apply(.results(ok)) == nil)
        #expect(s.pending(seq) == nil && s.done(seq)?.status == .delivered && s.done(seq)?.history.count == 1)
        #expect(s.endpoint?.lastSuccessAt == 1300)
    }

    @Test("Retries keep the call pending; an exhausted call fails and marks the endpoint failing once; replay sends it again")
    func exhaustionAndReplay() {
        var s = Store()
        _ = s.apply(.create(Self.endpoint()))
        s.record(index: 1, at: 0)
        s.record(index: 2, at: 0)
        let a = WebhookOutbox.sequence(index: 1, ordinal: 0), b = WebhookOutbox.sequence(index: 2, ordinal: 0)
        _ = s.apply(.claim(.init(endpoint: "ep_1", sequences: [a, b], owner: "n1", incarnation: 9, issuedAt: 0, expiresAt: 10)))
        let results = WebhookCommand.Results(endpoint: "ep_1", owner: "n1", incarnation: 9, results: [
            .init(sequence: a, attempt: Self.attempt(1, at: 5, status: 503), verdict: .retry(at: 5_005)),
            .init(sequence: b, attempt: Self.attempt(1, at: 5, status: 500), verdict: .exhausted),
        ])
        #expect(s.apply(.results(results)) == nil)
        #expect(s.pending(a)?.nextAttemptAt == 5_005 && s.pending(a)?.attempts == 1 && s.pending(a)?.lease == nil)
        #expect(s.done(b)?.status == .failed && s.endpoint?.failing == true && s.endpoint?.status == "failing")
        #expect(s.notices.map(\.kind) == [.webhookFailing])
        #expect(s.apply(.replay(endpoint: "ep_1", sequences: [b], at: 99)) == nil)
        #expect(s.done(b) == nil && s.pending(b)?.status == .pending && s.pending(b)?.attempts == 0)
        #expect(s.pending(b)?.webhookID == "msg_2_0", "a replay keeps the webhook-id")
    }

    @Test("410 disables the endpoint and keeps the call; later events still wait in the outbox; resume re-enables")
    func goneDisables() {
        var s = Store()
        _ = s.apply(.create(Self.endpoint()))
        s.record(index: 1, at: 0)
        let a = WebhookOutbox.sequence(index: 1, ordinal: 0)
        _ = s.apply(.claim(.init(endpoint: "ep_1", sequences: [a], owner: "n1", incarnation: 1, issuedAt: 0, expiresAt: 10)))
        _ = s.apply(.results(.init(endpoint: "ep_1", owner: "n1", incarnation: 1,
                                   results: [.init(sequence: a, attempt: Self.attempt(1, at: 3, status: 410), verdict: .gone)])))
        #expect(s.endpoint?.disabled == true && s.notices.map(\.kind) == [.webhookDisabled] && s.pending(a) != nil)
        s.record(index: 2, at: 4)
        #expect(s.pending(WebhookOutbox.sequence(index: 2, ordinal: 0)) != nil)
        #expect(s.apply(.setPaused(id: "ep_1", paused: false, at: 5)) == nil)
        #expect(s.endpoint?.status == "active")
    }

    @Test("Rotation: the new secret signs first, the old one until the grace period ends; bad secrets and URLs are refused")
    func rotation() {
        var s = Store()
        _ = s.apply(.create(Self.endpoint()))
        let next = "whsec_" + Data(repeating: 9, count: 24).base64EncodedString()
        #expect(s.apply(.rotateSecret(id: "ep_1", secret: next, graceUntil: 1_000, at: 10)) == nil)
        #expect(s.endpoint?.signingSecrets(at: 500) == [next, Self.secret])
        #expect(s.endpoint?.signingSecrets(at: 1_000) == [next])
        #expect(s.apply(.rotateSecret(id: "ep_1", secret: "whsec_short", graceUntil: 1, at: 1)) != nil)
        var bad = Self.endpoint()
        bad.id = "ep_9"
        bad.url = "ftp://x"
        #expect(s.apply(.create(bad)) != nil)
        #expect(s.apply(.create(Self.endpoint())) != nil, "ids are unique")
    }
}
