import DeliveryEngine
import Foundation
import SpoolStore
import Synchronization
import Testing

/// Cluster ownership: with a preferred-owner function the engine delivers only its domains, and
/// takes over messages whose lease expired long ago.
@Suite("Delivery ownership")
struct DeliveryOwnershipTests {
    @Test("a message whose domain belongs to another node is left alone; one that maps here is delivered")
    func ownsOnlyItsDomains() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.preferredOwner = { domain in domain == "mine.test" ? "t1" : "t2" }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("*", [server.port])]), options: options)
        defer { h.shutdown() }
        h.enqueue("o1", to: ["a@theirs.test"])
        h.enqueue("o2", to: ["a@mine.test"])
        #expect(h.waitForOutcome("o2").first?.type == .delivered)
        h.settle()
        #expect(h.outcomes("o1").isEmpty)
        #expect(try h.store.message(id: "o1")?.lease == nil)
        #expect(server.messages.map(\.recipients) == [["a@mine.test"]])
    }

    @Test("a message left alone as another node's work is delivered on the next pass once its domain maps here (the live members changed)")
    func remembersForeignButSeesOwnershipChange() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        let owner = Mutex("t2")
        options.preferredOwner = { _ in owner.withLock { $0 } }
        // Without the domain asked again each pass, the message would wait this long to be read again.
        options.foreignRecheckSeconds = 600
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("*", [server.port])]), options: options)
        defer { h.shutdown() }
        h.enqueue("f1", to: ["a@moved.test"])
        h.enqueue("f2", to: ["a@moved.test"])
        h.engine.wake()
        h.settle()
        h.engine.wake()
        h.settle()
        #expect(h.outcomes("f1").isEmpty && h.outcomes("f2").isEmpty)
        owner.withLock { $0 = "t1" }
        h.engine.wake()
        #expect(h.waitForOutcome("f1").first?.type == .delivered, "\(h.logText)")
        #expect(h.waitForOutcome("f2").first?.type == .delivered, "\(h.logText)")
        #expect(server.messages.count == 2)
    }

    @Test("after a restart the node takes back its earlier incarnation's unexpired lease at once, even for a domain that now maps to another node")
    func recoversOwnLeases() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.preferredOwner = { _ in "t2" }
        options.incarnation = 2
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("*", [server.port])]),
                                  options: options, start: false)
        defer { h.shutdown() }
        h.enqueue("l1", to: ["a@dest.test"])
        // Issued after the enqueue: a claim issued before the message was received finds no recipient due.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        // The previous process (incarnation 1) held an hour-long lease: waiting for it is what must not happen.
        let claim = SpoolCommand.Claim(queueID: "l1", owner: "t1", attempt: 1, issuedAt: now, expiresAt: now + 3_600_000,
                                       incarnation: 1)
        let claimed = h.propose(.claim(claim))
        #expect((try? claimed.get()) != nil, "\(claimed)")
        try h.engine.start()
        let event = h.waitForOutcome("l1").first
        #expect(event?.type == .delivered, "\(h.logText)")
        // The earlier process's attempt is superseded, not continued.
        #expect(event?.attempt == 2)
        #expect(h.logText.contains("delivery.lease_recovered"))
        #expect(server.messages.count == 1)
    }

    @Test("a message leased by a dead node is taken over by its preferred owner as soon as the short lease ends")
    func takesOverAtExpiry() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.preferredOwner = { _ in "t1" }
        // Started after the dead node's claim, so that claim is the one on record.
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("*", [server.port])]),
                                  options: options, start: false)
        defer { h.shutdown() }
        h.enqueue("d1", to: ["a@dest.test"])
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let claim = SpoolCommand.Claim(queueID: "d1", owner: "dead", attempt: 1, issuedAt: now, expiresAt: now + 2_000,
                                       incarnation: 9)
        #expect((try? h.propose(.claim(claim)).get()) != nil)
        try h.engine.start()
        let event = h.waitForOutcome("d1").first
        #expect(event?.type == .delivered, "\(h.logText)")
        #expect(event?.attempt == 2)
        // Not before the dead node's lease ended.
        #expect((event?.timestampMillis ?? 0) >= now + 2_000)
    }

    @Test("a renewal that does not commit never extends the lease: the body is held back and the receiver gets nothing")
    func uncommittedRenewalStopsTheBody() throws {
        let server = try FakeSMTPServer(behavior: Self.slowData(seconds: 4))
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.leaseSeconds = 3
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("*", [server.port])]),
                                  options: options, wrapLog: { RenewalRefusingLog(base: $0) })
        defer { h.shutdown() }
        h.enqueue("r1", to: ["a@dest.test"])
        let event = h.waitForOutcome("r1").first
        #expect(event?.type == .deferred, "\(h.logText)")
        #expect(h.logText.contains("delivery.lease_renewal_failed"))
        #expect(h.logText.contains("delivery.lease_too_short"))
        // The server answered 354 after the lease had run low: no body, no message.
        #expect(server.commands.contains { $0.hasPrefix("DATA") })
        #expect(server.messages.isEmpty)
    }

    @Test("a renewal that commits extends the lease: the same slow receiver gets the message")
    func committedRenewalKeepsTheBody() throws {
        let server = try FakeSMTPServer(behavior: Self.slowData(seconds: 4))
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.leaseSeconds = 3
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("*", [server.port])]), options: options)
        defer { h.shutdown() }
        h.enqueue("r2", to: ["a@dest.test"])
        let event = h.waitForOutcome("r2").first
        #expect(event?.type == .delivered, "\(h.logText)")
        #expect(event?.attempt == 1)
        #expect(!h.logText.contains("delivery.lease_too_short"))
        #expect(server.messages.count == 1)
    }

    @Test("an outcome that could not commit for want of a leader is proposed again: the message is delivered once")
    func outcomeRetriedNotRedelivered() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.leaseSeconds = 3
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("*", [server.port])]),
                                  options: options, wrapLog: { OutcomeRefusingLog(base: $0, failures: 3) })
        defer { h.shutdown() }
        h.enqueue("u1", to: ["a@dest.test"])
        let event = h.waitForOutcome("u1").first
        #expect(event?.type == .delivered, "\(h.logText)")
        #expect(event?.attempt == 1)
        #expect(h.logText.contains("delivery.outcome_retry"))
        // The message is done after its first attempt: a dropped outcome would have left it queued
        // until its lease ended, then claimed and sent again (attempt 2).
        #expect(h.wait { h.isDone("u1") })
        h.settle()
        #expect(server.messages.count == 1)
        #expect(h.outcomes("u1").count == 1)
    }

    /// A receiver that answers DATA with 354 only after `seconds`.
    static func slowData(seconds: Double) -> FakeSMTPServer.Behavior {
        var behavior = FakeSMTPServer.Behavior()
        behavior.script = { step in
            if step.verb == "DATA" { Thread.sleep(forTimeInterval: seconds) }
            return nil
        }
        return behavior
    }

    @Test("a message leased by a node whose lease expired beyond the grace period is taken over")
    func takesOverOrphans() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.preferredOwner = { _ in "t2" }
        options.orphanGraceSeconds = 30
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("*", [server.port])]), options: options)
        defer { h.shutdown() }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        h.enqueue("o3", to: ["a@theirs.test"], receivedAt: now - 120_000)
        let claim = SpoolCommand.Claim(queueID: "o3", owner: "t2", attempt: 1, issuedAt: now - 100_000, expiresAt: now - 60_000)
        #expect((try? h.propose(.claim(claim)).get()) != nil)
        h.engine.wake()
        let event = h.waitForOutcome("o3").first
        #expect(event?.type == .delivered, "\(h.logText)")
        #expect(event?.attempt == 2)
    }
}
