import DeliveryCore
import DeliveryEngine
import Foundation
import SpoolStore
import Testing

/// The scheduler's postpone batches carry each message's due time as it found it
/// (`SpoolCommand.Postpone.Item.seen`), so a batch applied after an operator's "retry now" leaves
/// that message alone (the apply side: `PostponeSeenTests`). Receivers on 127.78.1.x.
@Suite("Delivery postpone: the due time seen")
struct DeliveryPostponeSeenTests {
    @Test("every postponed item carries the due time the scheduler read (the enqueue time of a first attempt)")
    func itemsCarrySeen() throws {
        let server = try DeliveryParkingTests.receiver(host: 1, net: "127.78.1.")
        defer { server.stop() }
        let (h, log) = try DeliveryParkingTests.countingHarness(
            config: EngineHarness.config(routes: [EngineHarness.route("down.test", [server.port], host: "127.78.1.1")]),
            options: DeliveryPostponeTests.options(openSeconds: 600, maxOpenSeconds: 600, postponeSeconds: 900))
        defer { h.shutdown() }
        DeliveryParkingTests.takeDown(h, prefix: "first", count: 3)
        h.settle()
        let received = Int64(Date().timeIntervalSince1970 * 1000) - 1_234
        for i in 0..<8 { h.enqueue("over\(i)", to: ["o\(i)@down.test"], receivedAt: received) }
        // Two of the eleven due messages fit in parking (maxParked 2); the rest are postponed.
        #expect(h.wait { Set(log.postponedItems.withLock { $0.map(\.queueID) }.filter { $0.hasPrefix("over") }).count >= 6 },
                "\(h.logText)")
        let items = log.postponedItems.withLock { $0.filter { $0.queueID.hasPrefix("over") } }
        #expect(items.count >= 6 && items.allSatisfy { $0.seen == received && $0.at > received + 800_000 }, "\(items)")
    }
}
