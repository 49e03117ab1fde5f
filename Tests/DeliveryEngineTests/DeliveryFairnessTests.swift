import DeliveryEngine
import Foundation
import SpoolStore
import Testing

/// Fresh mail behind an overdue backlog (issue 16): the scheduler takes the most recently due
/// messages in turns with the oldest, so a provider coming back after an outage does not make new
/// mail wait for the whole backlog.
@Suite("Delivery fairness")
struct DeliveryFairnessTests {
    @Test("with one attempt at a time and 40 overdue messages queued, a message that just arrived is among the first two delivered")
    func freshNotStarved() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.maxInFlight = 1
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("*", [server.port])]),
                                  options: options, start: false)
        defer { h.shutdown() }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for i in 0..<40 {
            h.enqueue("b\(i)", to: ["b\(i)@dest.test"], receivedAt: now - 1_800_000 + Int64(i) * 1_000)
        }
        h.enqueue("fresh", to: ["fresh@dest.test"], receivedAt: now)
        try h.engine.start()
        #expect(h.wait(timeout: 60) { server.messages.count == 41 }, "\(server.messages.count) delivered")
        let order = server.messages.map { $0.recipients.first ?? "" }
        let position = order.firstIndex(of: "fresh@dest.test")
        #expect(position != nil && position! <= 1, "delivery order: \(order)")
        // Every other claim still goes to the oldest: the backlog's head is not starved either.
        let oldest = order.firstIndex(of: "b0@dest.test")
        #expect(oldest != nil && oldest! <= 2, "delivery order: \(order)")
        #expect(order.firstIndex(of: "b1@dest.test")! < order.firstIndex(of: "b20@dest.test")!, "\(order)")
    }
}
