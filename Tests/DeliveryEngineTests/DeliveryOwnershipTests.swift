import DeliveryEngine
import Foundation
import SpoolStore
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

    @Test("after a restart the node takes back its own unexpired leases at once and finishes that attempt")
    func recoversOwnLeases() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("*", [server.port])]), start: false)
        defer { h.shutdown() }
        h.enqueue("l1", to: ["a@dest.test"])
        // Issued after the enqueue: a claim issued before the message was received finds no recipient due.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let claim = SpoolCommand.Claim(queueID: "l1", owner: "t1", attempt: 1, issuedAt: now, expiresAt: now + 3_600_000)
        let claimed = h.propose(.claim(claim))
        #expect((try? claimed.get()) != nil, "\(claimed)")
        try h.engine.start()
        let event = h.waitForOutcome("l1").first
        #expect(event?.type == .delivered, "\(h.logText)")
        #expect(event?.attempt == 1)
        #expect(h.logText.contains("delivery.lease_recovered"))
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
