import DeliveryCore
import DeliveryEngine
import Foundation
import RelayConfig
import SpoolStore
import Synchronization
import Testing

/// The recovery pull reads only its destination's postponed mail (the spool's postponed table),
/// makes it due in batches (one `pullForward` per pass) and stays within `maxInFlight` with fresh
/// mail still served (issue 16). Receivers on 127.97.1.x.
@Suite("Delivery recovery pull: per destination, batched, within maxInFlight")
struct DeliveryPullIndexTests {
    @Test("two destinations postponed, one recovers: its pull reads none of the other's records, delivers its backlog in a few batched commands")
    func ownDestinationOnly() throws {
        let upA = DeliveryParkingTests.Outage(), downB = DeliveryParkingTests.Outage()
        let a = try DeliveryParkingTests.receiver(host: 1, outage: upA, net: "127.97.1.")
        defer { a.stop() }
        let b = try DeliveryParkingTests.receiver(host: 2, outage: downB, net: "127.97.1.")
        defer { b.stop() }
        var options = DeliveryPostponeTests.options(openSeconds: 1, maxOpenSeconds: 2, postponeSeconds: 900)
        let reads = Mutex<[String]>([])
        options.hooks.pullRead = { id, destination in reads.withLock { $0.append("\(id) \(destination)") } }
        let (h, log) = try DeliveryParkingTests.countingHarness(
            config: EngineHarness.config(routes: [EngineHarness.route("a.test", [a.port], host: "127.97.1.1"),
                                                  EngineHarness.route("b.test", [b.port], host: "127.97.1.2")]),
            options: options)
        defer { h.shutdown() }
        for i in 0..<3 {
            h.enqueue("fa\(i)", to: ["u\(i)@a.test"])
            h.enqueue("fb\(i)", to: ["u\(i)@b.test"])
        }
        #expect(h.wait { h.engine.parkingStatistics.destinationsDown == 2 }, "\(h.logText)")
        // B's mail is enqueued in between A's: a walk of the due index in time order meets it.
        for i in 0..<20 {
            h.enqueue("a\(i)", to: ["a\(i)@a.test"])
            h.enqueue("b\(i)", to: ["b\(i)@b.test"])
        }
        #expect(h.wait { h.engine.postponeStatistics.postponed >= 36 && h.engine.postponeStatistics.held == 0 },
                "\(String(describing: h.engine.postponeStatistics)) \(h.logText)")
        h.settle()
        let postponedA = (0..<20).map { "a\($0)" }.filter { ((try? h.store.message(id: $0))??.nextAttemptAt ?? 0) > Int64(Date().timeIntervalSince1970 * 1000) + 600_000 }
        #expect(postponedA.count >= 15, "\(postponedA)")
        upA.down.store(false, ordering: .relaxed)
        let idsA = (0..<20).map { "a\($0)" } + (0..<3).map { "fa\($0)" }
        #expect(h.wait(timeout: 30) { idsA.allSatisfy(h.isDone) },
                "\(idsA.filter { !h.isDone($0) }) \(String(describing: h.engine.recoveryStatistics)) \(h.logText.suffix(3_000))")
        for id in postponedA { #expect(h.outcomes(id).map(\.type) == [.delivered], "\(id)") }
        let read = reads.withLock { $0 }
        #expect(read.count >= postponedA.count, "\(read)")
        #expect(!read.contains { $0.hasPrefix("b") || $0.hasPrefix("fb") } && read.allSatisfy { $0.hasSuffix(" a.test") },
                "the pull read another destination's records: \(read)")
        #expect(b.messages.isEmpty && (0..<20).allSatisfy { !h.isDone("b\($0)") }, "b.test is still down")
        let pulled = h.engine.recoveryStatistics.pulled
        let commands = log.pulls.withLock { $0 }
        #expect(pulled >= postponedA.count)
        #expect(commands.reduce(0, +) == pulled && commands.count * 4 <= pulled && log.reschedules.withLock { $0 } == 0,
                "batched: \(commands) for \(pulled) pulled")
        #expect(h.engine.pullFigures.commands == commands.count)
    }

    @Test("pulled attempts count in maxInFlight (6 here, pullAhead 64): never more in flight, the backlog and fresh mail delivered")
    func withinMaxInFlight() throws {
        let outage = DeliveryParkingTests.Outage()
        let server = try DeliveryParkingTests.receiver(host: 3, outage: outage, net: "127.97.1.")
        defer { server.stop() }
        var options = DeliveryPostponeTests.options(openSeconds: 1, maxOpenSeconds: 2, postponeSeconds: 900)
        options.maxInFlight = 6
        options.recoveryPullAhead = 64
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("down.test", [server.port], host: "127.97.1.3")]),
                                  options: options)
        defer { h.shutdown() }
        DeliveryParkingTests.takeDown(h, prefix: "first", count: 3)
        for i in 0..<40 { h.enqueue("m\(i)", to: ["m\(i)@down.test"]) }
        #expect(h.wait { h.engine.postponeStatistics.postponed >= 36 && h.engine.postponeStatistics.held == 0 },
                "\(String(describing: h.engine.postponeStatistics)) \(h.logText)")
        h.settle()
        outage.down.store(false, ordering: .relaxed)
        #expect(h.wait(timeout: 20) { h.engine.recoveryStatistics.pulled >= 1 }, "\(h.logText.suffix(2_000))")
        for i in 0..<4 { h.enqueue("fresh\(i)", to: ["f\(i)@down.test"]) }
        let ids = (0..<40).map { "m\($0)" } + (0..<4).map { "fresh\($0)" }
        #expect(h.wait(timeout: 40) { ids.allSatisfy(h.isDone) },
                "\(ids.filter { !h.isDone($0) }) \(String(describing: h.engine.recoveryStatistics)) \(h.logText.suffix(3_000))")
        #expect(h.engine.recoveryStatistics.pulled >= 30, "\(String(describing: h.engine.recoveryStatistics))")
        let peak = h.engine.pullFigures.inFlightPeak
        #expect(peak <= 6 && peak >= 2, "most attempts in flight at once: \(peak)")
    }
}

extension DeliveryPullIndexTests {
    @Test("mail postponed where this node never saw its destination down (another member, an earlier run) is pulled at the first delivery there, not 900 s later")
    func pulledAtFirstDelivery() throws {
        let up = DeliveryParkingTests.Outage()
        up.down.store(false, ordering: .relaxed)
        let receiver = try DeliveryParkingTests.receiver(host: 5, outage: up, net: "127.97.1.")
        defer { receiver.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("taken.test", [receiver.port], host: "127.97.1.5")]),
                                  options: DeliveryPostponeTests.options(openSeconds: 1, maxOpenSeconds: 2, postponeSeconds: 900),
                                  start: false)
        defer { h.shutdown() }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let ids = (0..<8).map { "p\($0)" }
        for id in ids {
            let e = SpoolCommand.Enqueue(queueID: id, messageID: "\(id)@relay.test", tenant: "acme", sender: "s@origin.test",
                                         recipients: [SpoolCommand.Recipient(address: "\(id)@taken.test")], receivedAt: now - 60_000,
                                         body: Array("Subject: t\r\n\r\nhello\r\n".utf8))
            #expect((try? h.propose(.enqueue(e)).get()) != nil)
        }
        // Postponed 900 s by the member that owned taken.test before (this engine has not started).
        let items = ids.map { SpoolCommand.Postpone.Item(queueID: $0, at: now + 900_000, seen: now - 60_000) }
        #expect((try? h.propose(.postpone(SpoolCommand.Postpone(issuedAt: now, items: items))).get()) != nil)
        #expect(try h.store.postponedEntries(destination: "taken.test", after: nil, limit: 100).count == 8)
        try h.engine.start()
        h.enqueue("trigger", to: ["t@taken.test"])
        let all = ids + ["trigger"]
        #expect(h.wait(timeout: 20) { all.allSatisfy(h.isDone) },
                "\(all.filter { !h.isDone($0) }) \(String(describing: h.engine.recoveryStatistics)) \(h.logText.suffix(2_000))")
        #expect(h.engine.recoveryStatistics.pulled >= 8)
    }
}

extension DeliveryPullIndexTests {
    @Test("where the log writes format 5 (a member not upgraded yet) the pull makes each message due with its own reschedule and still delivers the backlog")
    func formatFiveReschedules() throws {
        let outage = DeliveryParkingTests.Outage()
        let server = try DeliveryParkingTests.receiver(host: 6, outage: outage, net: "127.97.1.")
        defer { server.stop() }
        let counter = Mutex<ProposalCountingLog?>(nil)
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("down.test", [server.port], host: "127.97.1.6")]),
                                  options: DeliveryPostponeTests.options(openSeconds: 1, maxOpenSeconds: 2, postponeSeconds: 900),
                                  wrapLog: { base in
                                      let log = ProposalCountingLog(base: base, entryFormat: 5)
                                      counter.withLock { $0 = log }
                                      return log
                                  })
        defer { h.shutdown() }
        let log = try #require(counter.withLock { $0 })
        DeliveryParkingTests.takeDown(h, prefix: "first", count: 3)
        for i in 0..<12 { h.enqueue("m\(i)", to: ["m\(i)@down.test"]) }
        #expect(h.wait { h.engine.postponeStatistics.postponed >= 10 && h.engine.postponeStatistics.held == 0 }, "\(h.logText)")
        h.settle()
        outage.down.store(false, ordering: .relaxed)
        let ids = (0..<12).map { "m\($0)" }
        #expect(h.wait(timeout: 30) { ids.allSatisfy(h.isDone) },
                "\(ids.filter { !h.isDone($0) }) \(String(describing: h.engine.recoveryStatistics)) \(h.logText.suffix(2_000))")
        let pulled = h.engine.recoveryStatistics.pulled
        #expect(pulled >= 8 && log.pulls.withLock { $0 }.isEmpty && log.reschedules.withLock { $0 } == pulled,
                "pulled \(pulled), pulls \(log.pulls.withLock { $0 }), reschedules \(log.reschedules.withLock { $0 })")
    }
}
