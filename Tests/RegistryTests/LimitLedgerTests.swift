import Foundation
import Testing
@testable import Registry

/// Limit accounting with a mock clock: rates per second/minute/day, recipients per message and per
/// day, concurrent sessions, and the cluster view built from other nodes' usage reports.
@Suite("Limit ledger")
struct LimitLedgerTests {
    /// A mock clock: ms since epoch, moved by the test.
    struct Clock {
        var now: Int64 = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000 + 3_600_000
        mutating func advance(ms: Int64) { now += ms }
    }

    let alice = LimitSubject(tenant: "acme", username: "alice")

    func rules(tenant: SendingLimits = SendingLimits(), credential: SendingLimits = SendingLimits()) -> [LimitLedger.Rule] {
        [LimitLedger.Rule(key: alice.tenantKey, limits: tenant), LimitLedger.Rule(key: alice.credentialKey!, limits: credential)]
    }

    /// Sends `n` messages of `recipients` recipients each through the checks; returns how many were admitted.
    func send(_ ledger: inout LimitLedger, _ rules: [LimitLedger.Rule], _ n: Int, recipients: Int = 1, at now: Int64) -> Int {
        var admitted = 0
        for _ in 0..<n {
            guard ledger.admitMessage(rules, now: now) == nil else { continue }
            var accepted = 0
            while accepted < recipients, ledger.admitRecipient(rules, inMessage: accepted, now: now) == nil { accepted += 1 }
            guard accepted > 0 else { continue }
            ledger.recordMessage(keys: rules.map(\.key), recipients: accepted, now: now)
            admitted += 1
        }
        return admitted
    }

    @Test("messages per minute hold within the minute and reset in the next")
    func perMinute() {
        var clock = Clock()
        var ledger = LimitLedger(node: "n1")
        let r = rules(credential: SendingLimits(messagesPerMinute: 10))
        #expect(send(&ledger, r, 15, at: clock.now) == 10)
        #expect(ledger.admitMessage(r, now: clock.now) == LimitRefusal(kind: .messagesPerMinute, limit: 10, key: "credential/acme/alice"))
        clock.advance(ms: 60_000)
        #expect(send(&ledger, r, 3, at: clock.now) == 3)
    }

    @Test("messages per second reset each second; per day rolls by the hour")
    func perSecondAndDay() {
        var clock = Clock()
        var ledger = LimitLedger(node: "n1")
        let r = rules(tenant: SendingLimits(messagesPerSecond: 2, messagesPerDay: 5))
        #expect(send(&ledger, r, 4, at: clock.now) == 2)
        clock.advance(ms: 1000)
        #expect(send(&ledger, r, 4, at: clock.now) == 2)
        clock.advance(ms: 1000)
        #expect(send(&ledger, r, 4, at: clock.now) == 1)
        #expect(ledger.admitMessage(r, now: clock.now)?.kind == .messagesPerDay)
        clock.advance(ms: 23 * 3_600_000)
        #expect(ledger.admitMessage(r, now: clock.now)?.kind == .messagesPerDay)
        clock.advance(ms: 3_600_000)
        #expect(ledger.admitMessage(r, now: clock.now) == nil)
    }

    @Test("recipients per message get 452 4.5.3, recipients per day 451 4.7.1")
    func recipients() {
        let clock = Clock()
        var ledger = LimitLedger(node: "n1")
        let r = rules(credential: SendingLimits(recipientsPerMessage: 3, recipientsPerDay: 7))
        let refusal = ledger.admitRecipient(r, inMessage: 3, now: clock.now)
        #expect(refusal?.kind == .recipientsPerMessage)
        #expect(refusal?.reply.code == 452 && refusal?.reply.enhancedCode == "4.5.3")
        #expect(send(&ledger, r, 3, recipients: 3, at: clock.now) == 3) // 3 + 3 + 1
        let daily = ledger.admitRecipient(r, inMessage: 0, now: clock.now)
        #expect(daily?.kind == .recipientsPerDay)
        #expect(daily?.reply.code == 451 && daily?.reply.enhancedCode == "4.7.1")
    }

    @Test("concurrent sessions are refused with 421 4.7.0 at the limit and freed on close")
    func connections() {
        let clock = Clock()
        var ledger = LimitLedger(node: "n1")
        let r = rules(tenant: SendingLimits(concurrentConnections: 2))
        #expect(ledger.openConnection(r, now: clock.now) == nil)
        #expect(ledger.openConnection(r, now: clock.now) == nil)
        let refused = ledger.openConnection(r, now: clock.now)
        #expect(refused?.kind == .concurrentConnections && refused?.reply.code == 421 && refused?.reply.enhancedCode == "4.7.0")
        ledger.closeConnection(keys: r.map(\.key))
        #expect(ledger.openConnection(r, now: clock.now) == nil)
    }

    @Test("another node's reported usage counts against the same limit")
    func clusterWide() {
        var clock = Clock()
        var n1 = LimitLedger(node: "n1"), n2 = LimitLedger(node: "n2")
        let r = rules(tenant: SendingLimits(messagesPerMinute: 10, concurrentConnections: 1))
        #expect(send(&n1, r, 6, at: clock.now) == 6)
        #expect(n1.openConnection(r, now: clock.now) == nil)
        let report = n1.report(now: clock.now)!
        #expect(report.subjects["tenant/acme"]?.messagesInMinute(clock.now) == 6)
        // Through the control plane, as every node stores it.
        let stored = RegistryMachine.apply(.limits(.usage(report)), current: [:]).writes.first?.record?.usage
        n2.absorb(stored!)
        n1.absorb(stored!) // its own record is ignored, not counted twice
        #expect(n1.totals("tenant/acme", now: clock.now).messagesInMinute == 6)
        clock.advance(ms: 100)
        #expect(send(&n2, r, 10, at: clock.now) == 4)
        #expect(n2.openConnection(r, now: clock.now)?.kind == .concurrentConnections)
        // A node that stops reporting: its sessions stop counting after the TTL; its messages still count.
        clock.advance(ms: 31_000)
        #expect(n2.openConnection(r, now: clock.now) == nil)
    }

    @Test("reports carry only changed subjects and refusals, and heartbeats for open sessions")
    func reports() {
        var clock = Clock()
        var ledger = LimitLedger(node: "n1")
        let r = rules(credential: SendingLimits(messagesPerMinute: 1))
        #expect(ledger.report(now: clock.now) == nil)
        #expect(send(&ledger, r, 2, at: clock.now) == 1)
        let first = ledger.report(now: clock.now)
        #expect(first?.subjects.keys.sorted() == ["credential/acme/alice", "tenant/acme"])
        #expect(first?.exceeded["credential/acme/alice"] == "messagesPerMinute limit 1 of credential/acme/alice reached")
        #expect(ledger.report(now: clock.now) == nil)
        _ = ledger.openConnection(r, now: clock.now)
        #expect(ledger.report(now: clock.now) != nil)
        clock.advance(ms: 5_000)
        #expect(ledger.report(now: clock.now) == nil)
        clock.advance(ms: 5_000)
        #expect(ledger.report(now: clock.now)?.subjects["tenant/acme"]?.connections == 1)
        // The stored record keeps older subjects and turns refusals into events.
        let old = NodeUsage(node: "n1", at: clock.now, subjects: ["tenant/other": { var c = UsageCounters(); c.connections = 1; return c }()])
        let t = RegistryMachine.apply(.limits(.usage(first!)), current: [RegistryKeys.usage("n1"): .usage(old)])
        #expect(t.writes.first?.record?.usage?.subjects.keys.sorted() == ["credential/acme/alice", "tenant/acme", "tenant/other"])
        #expect(t.writes.first?.record?.usage?.exceeded == [:])
        #expect(t.notices.map(\.kind) == [.limitExceeded])
    }

    @Test("tenant settings written before limits existed still decode")
    func oldTenantRecord() throws {
        let old = #"{"tenant":{"_0":{"allowSubdomains":true,"name":"acme","senderPolicy":"enforce"}}}"#
        let record = try RegistryRecord(decoding: Array(old.utf8))
        #expect(record.tenant?.name == "acme" && record.tenant?.limits == nil)
        let withLimits = RegistryRecord.tenant(TenantSettings(name: "acme", limits: SendingLimits(messagesPerDay: 5)))
        #expect(try RegistryRecord(decoding: withLimits.encoded()) == withLimits)
    }
}
