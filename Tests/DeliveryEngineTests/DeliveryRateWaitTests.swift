import DeliveryCore
import DeliveryEngine
import Foundation
import SpoolStore
import Testing

/// Jobs behind a shaped destination wait in one line per rate limiter (issue 16): one wake-up per
/// token, not one per waiting job and token.
@Suite("Delivery rate-limiter line")
struct DeliveryRateWaitTests {
    @Test("60 messages to a destination shaped at 20/s: all delivered, with wake-ups in proportion to the messages, not one per waiting job and token")
    func oneWakeupPerToken() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.rateLimitStaticRoutes = true
        options.shaping = ShapingPolicy.Configuration(all: .init(maxConnections: 2, messagesPerSecond: 20))
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("*", [server.port])]),
                                  options: options, start: false)
        defer { h.shutdown() }
        for i in 0..<60 { h.enqueue("r\(i)", to: ["r\(i)@dest.test"]) }
        try h.engine.start()
        #expect(h.wait(timeout: 60) { server.messages.count == 60 }, "\(server.messages.count) delivered")
        // The first 20 take the burst; the other 40 wait for tokens (about 2 s at 20/s): about one
        // wake-up each. On a loaded machine a timer can fire a little before its token is due and
        // re-arm (68 seen in CI), so the bound is two per message; a timer per waiting job woke
        // 74,433 times here.
        let wakeups = h.engine.tokenWakeups
        #expect(wakeups >= 1 && wakeups <= 120, "\(wakeups) wake-ups")
    }
}

extension DeliveryRateWaitTests {
    @Test("30 messages to a dead host shaped at 1/s: once its circuit opens the rest are deferred without waiting for tokens")
    func openCircuitSkipsTheLine() throws {
        let dead = try FakeSMTPServer()
        let port = dead.port
        dead.stop()
        var options = EngineHarness.testOptions()
        options.rateLimitStaticRoutes = true
        options.shaping = ShapingPolicy.Configuration(all: .init(maxConnections: 1, messagesPerSecond: 1))
        options.breakerThreshold = 2
        options.breakerOpenSeconds = 600
        options.retrySteps = [600]
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("*", [port])]),
                                  options: options, start: false)
        defer { h.shutdown() }
        for i in 0..<30 { h.enqueue("d\(i)", to: ["d\(i)@dest.test"]) }
        try h.engine.start()
        let all = h.wait(timeout: 60) { (0..<30).allSatisfy { !h.outcomes("d\($0)").isEmpty } }
        #expect(all, "\(h.logText.suffix(2_000))")
        #expect((0..<30).allSatisfy { h.outcomes("d\($0)").first?.type == .deferred })
        // Two tokens for the two connection failures that open the circuit, a few more for the
        // timing of the line; not one per message.
        let wakeups = h.engine.tokenWakeups
        #expect(wakeups <= 8, "\(wakeups) wake-ups")
    }
}
