import Foundation
import SpoolStore
import Testing

/// A postpone whose items carry the due time the scheduler saw (`SpoolCommand.Postpone.Item.seen`,
/// tag 14, format 5): a batch flushed after an operator's "retry now" does not push the message
/// back; entries written before (tag 13, format 4) still decode and apply as before.
@Suite("Spool postpone: the due time seen")
struct PostponeSeenTests {
    static func open() throws -> (SpoolStore, LocalLog, String) {
        let dir = NSTemporaryDirectory() + "sx-postpone-seen-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let store = try SpoolStore(directory: dir, options: SpoolStore.Options(mapSize: 16 << 20, durable: false))
        return (store, try LocalLog(store: store), dir)
    }

    @Test("a postpone batch applied after a retry-now leaves the rescheduled message due; the others move")
    func retryNowWins() throws {
        let (store, log, dir) = try Self.open()
        defer {
            log.stop()
            store.close()
            try? FileManager.default.removeItem(atPath: dir)
        }
        for id in ["kept", "moved", "old"] { _ = try PostponeTests.commit(log, PostponeTests.enqueue(id, at: 1_000)).get() }
        // The scheduler found all three due at 1,000; the operator retries "kept" now (3,000)
        // before the batch (issued at 5,000) commits.
        _ = try PostponeTests.commit(log, .reschedule(SpoolCommand.Reschedule(queueID: "kept", at: 3_000))).get()
        let items = [SpoolCommand.Postpone.Item(queueID: "kept", at: 60_000, seen: 1_000),
                     SpoolCommand.Postpone.Item(queueID: "moved", at: 60_000, seen: 1_000)]
        _ = try PostponeTests.commit(log, .postpone(SpoolCommand.Postpone(issuedAt: 5_000, items: items))).get()
        #expect(try store.message(id: "kept")?.recipients.map(\.nextAttemptAt) == [3_000], "the retry-now stands")
        #expect(try store.message(id: "moved")?.recipients.map(\.nextAttemptAt) == [60_000])
        let due = try store.dueEntries(now: 59_999, after: nil, limit: 10)
        #expect(due.map(\.queueID) == ["old", "kept"] && due.map(\.at) == [1_000, 3_000], "\(due)")
        // An entry of format 4 (tag 13, no seen) still moves what is due at its issue time.
        let old = SpoolCommand.postpone(SpoolCommand.Postpone(issuedAt: 5_000, items: [.init(queueID: "old", at: 70_000)]))
        let bytes = old.encoded(format: 4)
        #expect(bytes.first == 4 && bytes[1] == 13)
        _ = try PostponeTests.commit(log, try SpoolCommand(decoding: bytes)).get()
        #expect(try store.message(id: "old")?.recipients.map(\.nextAttemptAt) == [70_000])
    }

    @Test("format 5 (tag 14) carries seen; for readers of 4 it is tag 13 without it, below 4 a no-op; tag 14 labelled 4 is refused")
    func formats() throws {
        let p = SpoolCommand.postpone(SpoolCommand.Postpone(issuedAt: 7, items: [.init(queueID: "a", at: 9, seen: 5),
                                                                                  .init(queueID: "bb", at: -3)]))
        let bytes = p.encoded()
        #expect(SpoolCommand.formatVersion >= 5)
        #expect(bytes.first == 5 && bytes[1] == 14)
        #expect(try SpoolCommand(decoding: bytes) == p, "seen (and its absence) round-trips")
        let four = try #require(SpoolCommand.downgraded(bytes, to: 4))
        #expect(four.first == 4 && four[1] == 13)
        let expected = SpoolCommand.postpone(SpoolCommand.Postpone(issuedAt: 7, items: [.init(queueID: "a", at: 9),
                                                                                         .init(queueID: "bb", at: -3)]))
        #expect(try SpoolCommand(decoding: four) == expected)
        #expect(try SpoolCommand(decoding: p.encoded(format: 3)) == .pruneEvents(SpoolCommand.PruneEvents(before: Int64.min, maxCount: 0)))
        var mislabelled = bytes
        mislabelled[0] = 4
        #expect(throws: StoreError.self) { try SpoolCommand(decoding: mislabelled) }
    }
}
