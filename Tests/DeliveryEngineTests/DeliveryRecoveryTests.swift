import DeliveryCore
import DeliveryEngine
import Foundation
import RelayConfig
import SpoolStore
import Synchronization
import Testing

/// A destination that comes back after an outage (issue 16): its postponed mail is pulled forward
/// and delivered long before its postponed due time, and mail received since it came back is not
/// starved behind the backlog. Receivers on 127.88.1.x.
@Suite("Delivery recovery drain")
struct DeliveryRecoveryTests {
    @Test("postponed mail is pulled forward when its destination comes back: delivered within seconds, not at its postponed time 900 s later, and fresh mail too")
    func pulledForward() throws {
        let outage = DeliveryParkingTests.Outage()
        let server = try DeliveryParkingTests.receiver(host: 1, outage: outage, net: "127.88.1.")
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("down.test", [server.port], host: "127.88.1.1")]),
                                  options: DeliveryPostponeTests.options(openSeconds: 1, maxOpenSeconds: 2, postponeSeconds: 900))
        defer { h.shutdown() }
        DeliveryParkingTests.takeDown(h, prefix: "first", count: 3)
        for i in 0..<12 { h.enqueue("m\(i)", to: ["m\(i)@down.test"]) }
        #expect(h.wait { h.engine.postponeStatistics.postponed >= 10 && h.engine.postponeStatistics.held == 0 },
                "\(String(describing: h.engine.postponeStatistics)) \(h.logText)")
        h.settle()
        let postponedAt = Int64(Date().timeIntervalSince1970 * 1000)
        let postponed = (0..<12).map { "m\($0)" }.filter {
            guard let due = (try? h.store.message(id: $0))??.nextAttemptAt else { return false }
            return due >= postponedAt + 600_000
        }
        #expect(postponed.count >= 8, "most are postponed by about 900 s: \(postponed)")
        outage.down.store(false, ordering: .relaxed)
        #expect(h.wait(timeout: 20) { h.engine.parkingStatistics.destinationsDown == 0 }, "\(h.logText)")
        for i in 0..<3 { h.enqueue("fresh\(i)", to: ["f\(i)@down.test"]) }
        let ids = postponed + (0..<3).map { "fresh\($0)" }
        #expect(h.wait(timeout: 30) { ids.allSatisfy(h.isDone) },
                "\(ids.filter { !h.isDone($0) }) \(String(describing: h.engine.recoveryStatistics)) \(h.logText.suffix(3_000))")
        for id in postponed { #expect(h.outcomes(id).map(\.type) == [.delivered], "\(id)") }
        for i in 0..<3 { #expect(h.outcomes("fresh\(i)").map(\.type) == [.delivered]) }
        #expect(h.engine.recoveryStatistics.pulled >= postponed.count, "\(String(describing: h.engine.recoveryStatistics))")
    }

    @Test("mail received after the destination came back is delivered among the first, not behind the 60 released messages waiting for tokens")
    func freshNotStarved() throws {
        let outage = DeliveryParkingTests.Outage()
        let server = try DeliveryParkingTests.receiver(host: 2, outage: outage, net: "127.88.1.")
        defer { server.stop() }
        var options = DeliveryParkingTests.options(openSeconds: 1, maxOpenSeconds: 2)
        options.rateLimitStaticRoutes = true
        options.shaping = ShapingPolicy.Configuration(all: .init(maxConnections: 2, messagesPerSecond: 10))
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("down.test", [server.port], host: "127.88.1.2")]),
                                  options: options)
        defer { h.shutdown() }
        DeliveryParkingTests.takeDown(h, prefix: "first", count: 3)
        for i in 0..<60 { h.enqueue("b\(i)", to: ["b\(i)@down.test"]) }
        #expect(h.wait { h.engine.parkingStatistics.parked >= 60 }, "\(String(describing: h.engine.parkingStatistics))")
        outage.down.store(false, ordering: .relaxed)
        #expect(h.wait(timeout: 20) { h.engine.parkingStatistics.destinationsDown == 0 }, "\(h.logText)")
        // The released backlog is claimed and waits in the limiter's line (10 a second).
        #expect(h.wait(timeout: 20) { h.engine.jobsWaitingForTokens >= 30 }, "\(h.engine.jobsWaitingForTokens) waiting")
        let deliveredBefore = server.messages.count
        h.enqueue("fresh", to: ["fresh@down.test"])
        #expect(h.wait(timeout: 60) { server.messages.count >= 64 }, "\(server.messages.count) delivered")
        let order = server.messages.flatMap(\.recipients)
        let position = try #require(order.firstIndex(of: "fresh@down.test"))
        // Up to 10 jobs may hold a token already (the limiter's burst) and wait for one of the 2
        // connections; the other ~50 released messages wait in the line behind it.
        #expect(position <= deliveredBefore + 14,
                "fresh mail took one of the next tokens: position \(position), \(deliveredBefore) delivered when it came")
    }
}

extension DeliveryRecoveryTests {
    @Test("mail that arrived after the last failed probe, postponed only because the destination still looked down, is pulled first at recovery, not after the older postponed mail")
    func latePostponedFirst() throws {
        let outage = DeliveryParkingTests.Outage()
        let server = try DeliveryParkingTests.receiver(host: 3, outage: outage, net: "127.88.1.")
        defer { server.stop() }
        var options = DeliveryPostponeTests.options(openSeconds: 1, maxOpenSeconds: 2, postponeSeconds: 900)
        options.recoveryPullAhead = 1
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("down.test", [server.port], host: "127.88.1.3")]),
                                  options: options)
        defer { h.shutdown() }
        DeliveryParkingTests.takeDown(h, prefix: "first", count: 3)
        for i in 0..<30 { h.enqueue("old\(i)", to: ["old\(i)@down.test"]) }
        #expect(h.wait { h.engine.postponeStatistics.postponed >= 28 && h.engine.postponeStatistics.held == 0 })
        // A probe fails after the old mail was postponed; then new mail arrives and is postponed.
        let deferrals = h.logText.components(separatedBy: "delivery.deferred").count
        #expect(h.wait(timeout: 20) { h.logText.components(separatedBy: "delivery.deferred").count > deferrals }, "\(h.logText)")
        let before = h.engine.postponeStatistics.postponed
        h.enqueue("late", to: ["late@down.test"])
        #expect(h.wait { h.engine.postponeStatistics.postponed > before && h.engine.postponeStatistics.held == 0 })
        outage.down.store(false, ordering: .relaxed)
        #expect(h.wait(timeout: 30) { server.messages.count >= 20 }, "\(server.messages.count) \(h.logText.suffix(2_000))")
        let order = server.messages.flatMap(\.recipients)
        let position = try #require(order.firstIndex(of: "late@down.test"), "\(order)")
        // The probe and the 2 parked messages may go before it; the 28 older postponed ones after.
        #expect(position <= 5, "position \(position): \(order)")
    }
}
