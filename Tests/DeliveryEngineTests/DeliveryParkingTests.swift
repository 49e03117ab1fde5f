import DeliveryCore
import DeliveryEngine
import Foundation
import RelayConfig
import SpoolStore
import Synchronization
import Testing

/// Parking of due retries while a destination is down (`DestinationParking` in the scheduler):
/// no claim or outcome through the log for parked messages, lifetime expiry still bounces them,
/// and a recovered destination gets its parked mail at once. Receivers on 127.0.66.x.
@Suite("Delivery parking")
struct DeliveryParkingTests {
    /// Options with a breaker that trips after 2 failures and stays open `openSeconds` (capped at
    /// `maxOpenSeconds`), retries 0.2 s apart so that deferred messages come due again and again.
    static func options(openSeconds: Double, maxOpenSeconds: Double) -> DeliveryEngine.Options {
        var options = EngineHarness.testOptions()
        options.breakerThreshold = 2
        options.breakerOpenSeconds = openSeconds
        options.breakerMaxOpenSeconds = maxOpenSeconds
        options.retrySteps = [0.2]
        return options
    }

    /// Whether the receiver is down (answers 421), switchable while it runs.
    final class Outage: Sendable {
        let down = Atomic<Bool>(true)
    }

    /// A receiver on `net``host` (127.0.66.`host` by default) that answers every connection with
    /// 421 while `outage` is down (always without one).
    static func receiver(host: Int, outage: Outage? = nil, net: String = "127.0.66.") throws -> FakeSMTPServer {
        try FakeSMTPServer(behavior: .init(script: { step in
            guard step.verb == "CONNECT", outage?.down.load(ordering: .relaxed) ?? true else { return nil }
            return .line("421 4.3.2 service not available, try later")
        }), ip: "\(net)\(host)")
    }

    /// A harness whose engine proposes through a `ProposalCountingLog`, and that log.
    static func countingHarness(config: RelayConfig, options: DeliveryEngine.Options) throws -> (EngineHarness, ProposalCountingLog) {
        let counter = Mutex<ProposalCountingLog?>(nil)
        let h = try EngineHarness(config: config, options: options, wrapLog: { base in
            let log = ProposalCountingLog(base: base)
            counter.withLock { $0 = log }
            return log
        })
        return (h, try #require(counter.withLock { $0 }))
    }

    /// Enqueues `first` messages and waits until the destination is down (parking active).
    static func takeDown(_ h: EngineHarness, prefix: String, count: Int) {
        for i in 0..<count { h.enqueue("\(prefix)\(i)", to: ["u\(i)@down.test"]) }
        h.wait { h.engine.parkingStatistics.destinationsDown == 1 }
    }

    @Test("once a destination is down, its due messages are parked: no claim, no outcome, no connection")
    func parkedCostNoProposals() throws {
        let server = try Self.receiver(host: 1)
        defer { server.stop() }
        let (h, log) = try Self.countingHarness(config: EngineHarness.config(routes: [EngineHarness.route("down.test", [server.port], host: "127.0.66.1")]),
                                                options: Self.options(openSeconds: 600, maxOpenSeconds: 600))
        defer { h.shutdown() }
        Self.takeDown(h, prefix: "first", count: 3)
        let down = h.engine.parkingStatistics.destinationsDown
        #expect(down == 1, "\(h.logText)")
        h.settle()
        let connectionsBefore = server.connectionCount
        for i in 0..<20 { h.enqueue("parked\(i)", to: ["p\(i)@down.test"]) }
        // The first messages' retries (0.2 s apart) come due too and are parked as well.
        #expect(h.wait { h.engine.parkingStatistics.parked >= 23 }, "parked: \(String(describing: h.engine.parkingStatistics)) \(h.logText)")
        h.settle()
        for i in 0..<20 {
            #expect(log.claims("parked\(i)") == 0 && log.outcomes("parked\(i)") == 0)
            #expect(h.outcomes("parked\(i)").isEmpty, "a parked message records no deferral")
        }
        #expect(server.connectionCount == connectionsBefore, "no connection while the breaker is open")
        // Still queued, due, with their durable state untouched: a restart would just attempt them.
        let stored = try #require(try h.store.message(id: "parked0"))
        #expect(stored.attempts == 0 && stored.lease == nil)
    }

    @Test("a parked message whose queue lifetime ends still bounces as expired")
    func parkedExpiryBounces() throws {
        let server = try Self.receiver(host: 2)
        defer { server.stop() }
        var config = EngineHarness.config(routes: [EngineHarness.route("down.test", [server.port], host: "127.0.66.2")])
        config.delivery.maxLifetimeSeconds = 4
        let h = try EngineHarness(config: config, options: Self.options(openSeconds: 600, maxOpenSeconds: 600))
        defer { h.shutdown() }
        Self.takeDown(h, prefix: "first", count: 3)
        h.enqueue("late", to: ["late@down.test"])
        #expect(h.wait { h.engine.parkingStatistics.parked >= 1 && h.logText.contains("destination_down") })
        let events = h.waitForOutcome("late", type: .bounced, timeout: 20)
        #expect(events.map(\.type) == [.bounced], "parked, then bounced on expiry without a deferral: \(String(describing: events.map(\.type))) \(h.logText)")
        #expect(events.first?.enhancedCode == "5.4.7")
        #expect(h.isDone("late"))
    }

    @Test("when the destination recovers, the probe delivers and every parked message follows")
    func recoveryReleases() throws {
        let outage = Outage()
        let server = try Self.receiver(host: 3, outage: outage)
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("down.test", [server.port], host: "127.0.66.3")]),
                                  options: Self.options(openSeconds: 1, maxOpenSeconds: 2))
        defer { h.shutdown() }
        Self.takeDown(h, prefix: "first", count: 3)
        for i in 0..<10 { h.enqueue("m\(i)", to: ["m\(i)@down.test"]) }
        #expect(h.wait { h.engine.parkingStatistics.parked >= 10 }, "\(String(describing: h.engine.parkingStatistics))")
        outage.down.store(false, ordering: .relaxed)
        // The breaker's open period is capped at 2 s: the next probe goes through and releases the rest.
        let ids = (0..<3).map { "first\($0)" } + (0..<10).map { "m\($0)" }
        #expect(h.wait(timeout: 30) { ids.allSatisfy(h.isDone) }, "\(String(describing: h.engine.parkingStatistics)) \(h.logText)")
        #expect(Set(server.messages.flatMap(\.recipients)).count == 13)
        let parkedAfter = h.engine.parkingStatistics.parked
        #expect(parkedAfter == 0 && h.logText.contains("delivery.destination_up"))
        // The parked messages were never deferred: delivered at their first attempt.
        for i in 0..<10 { #expect(h.outcomes("m\(i)").map(\.type) == [.delivered]) }
    }
}
