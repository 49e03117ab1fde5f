import DeliveryCore
import DeliveryEngine
import Foundation
import RelayConfig
import SpoolStore
import Synchronization
import Testing

/// Parking beyond its memory bound (`maxParked`): messages of a down destination that do not fit
/// are postponed durably in batches (`SpoolCommand.postpone`), not claimed and deferred one by one;
/// they still bounce at their lifetime's end and are delivered once the destination recovers.
/// Receivers on 127.74.1.x.
@Suite("Delivery postpone beyond parking")
struct DeliveryPostponeTests {
    static func options(openSeconds: Double, maxOpenSeconds: Double, postponeSeconds: Double) -> DeliveryEngine.Options {
        var options = DeliveryParkingTests.options(openSeconds: openSeconds, maxOpenSeconds: maxOpenSeconds)
        options.maxParked = 2
        options.parkingPostponeSeconds = postponeSeconds
        return options
    }

    static func receiver(host: Int, outage: DeliveryParkingTests.Outage? = nil) throws -> FakeSMTPServer {
        try DeliveryParkingTests.receiver(host: host, outage: outage, net: "127.74.1.")
    }

    @Test("beyond maxParked a down destination's messages are postponed in batches: no claim, no outcome, due later")
    func postponedInBatches() throws {
        let server = try Self.receiver(host: 1)
        defer { server.stop() }
        let (h, log) = try DeliveryParkingTests.countingHarness(
            config: EngineHarness.config(routes: [EngineHarness.route("down.test", [server.port], host: "127.74.1.1")]),
            options: Self.options(openSeconds: 600, maxOpenSeconds: 600, postponeSeconds: 900))
        defer { h.shutdown() }
        DeliveryParkingTests.takeDown(h, prefix: "first", count: 3)
        h.settle()
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        // All 30 stored first, then one wake: the batches must not depend on how fast a loaded
        // machine runs the enqueues (a batch flushes 200 ms after its oldest message).
        for i in 0..<30 { h.enqueue("over\(i)", to: ["o\(i)@down.test"], wake: false) }
        h.engine.wake()
        // 2 parked in memory, the rest (30 new plus the first messages' retries) postponed.
        #expect(h.wait { h.engine.postponeStatistics.postponed >= 29 && h.engine.postponeStatistics.held == 0 },
                "\(String(describing: h.engine.postponeStatistics)) \(String(describing: h.engine.parkingStatistics)) \(h.logText)")
        h.settle()
        #expect(h.engine.parkingStatistics.parked == 2)
        let batches = log.postponed.withLock { $0 }
        #expect(batches.count <= 10, "postponed in batches, not one command per message: \(batches)")
        var postponed = 0
        for i in 0..<30 {
            #expect(log.claims("over\(i)") == 0 && log.outcomes("over\(i)") == 0)
            #expect(h.outcomes("over\(i)").isEmpty, "a postponed message records no deferral")
            let stored = try #require(try h.store.message(id: "over\(i)"))
            #expect(stored.attempts == 0 && stored.lease == nil)
            if let due = stored.nextAttemptAt, due >= before + 800_000 { postponed += 1 }
        }
        #expect(postponed >= 28, "due about 900 s later: \(postponed) of 30")
    }

    @Test("a postponed message is never moved past its lifetime's end: it bounces as expired")
    func postponedExpiryBounces() throws {
        let server = try Self.receiver(host: 2)
        defer { server.stop() }
        var config = EngineHarness.config(routes: [EngineHarness.route("down.test", [server.port], host: "127.74.1.2")])
        config.delivery.maxLifetimeSeconds = 5
        let h = try EngineHarness(config: config, options: Self.options(openSeconds: 600, maxOpenSeconds: 600, postponeSeconds: 900))
        defer { h.shutdown() }
        DeliveryParkingTests.takeDown(h, prefix: "first", count: 3)
        for i in 0..<6 { h.enqueue("late\(i)", to: ["late\(i)@down.test"]) }
        #expect(h.wait { h.engine.postponeStatistics.postponed >= 3 }, "\(h.logText)")
        for i in 0..<6 {
            let events = h.waitForOutcome("late\(i)", type: .bounced, timeout: 20)
            #expect(events.map(\.type) == [.bounced], "late\(i): \(String(describing: events.map(\.type)))")
            #expect(events.first?.enhancedCode == "5.4.7")
        }
    }

    @Test("when the destination recovers, postponed messages come due again and are delivered at their first attempt")
    func recoveryDelivers() throws {
        let outage = DeliveryParkingTests.Outage()
        let server = try Self.receiver(host: 3, outage: outage)
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("down.test", [server.port], host: "127.74.1.3")]),
                                  options: Self.options(openSeconds: 1, maxOpenSeconds: 2, postponeSeconds: 2))
        defer { h.shutdown() }
        DeliveryParkingTests.takeDown(h, prefix: "first", count: 3)
        for i in 0..<12 { h.enqueue("m\(i)", to: ["m\(i)@down.test"]) }
        #expect(h.wait { h.engine.postponeStatistics.postponed >= 8 }, "\(String(describing: h.engine.postponeStatistics))")
        outage.down.store(false, ordering: .relaxed)
        let ids = (0..<3).map { "first\($0)" } + (0..<12).map { "m\($0)" }
        #expect(h.wait(timeout: 30) { ids.allSatisfy(h.isDone) }, "\(String(describing: h.engine.postponeStatistics)) \(h.logText)")
        #expect(Set(server.messages.flatMap(\.recipients)).count == 15)
        for i in 0..<12 { #expect(h.outcomes("m\(i)").map(\.type) == [.delivered]) }
    }
}
