import Foundation
import SpoolStore
import Testing

/// `SpoolStore.dueEntries(now:after:limit:)` and `nextDueTime(after:)`: the due-index walk the
/// scheduler resumes after the parked run at the index's head.
@Suite("Spool due cursor")
struct DueCursorTests {
    @Test("entries after a position come in due order, stop at now, and the next due time follows the position")
    func resumesAfterPosition() throws {
        let dir = NSTemporaryDirectory() + "sx-duecursor-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SpoolStore(directory: dir, options: SpoolStore.Options(mapSize: 16 << 20, durable: false))
        defer { store.close() }
        let log = try LocalLog(store: store)
        defer { log.stop() }
        for (i, at) in [1_000, 2_000, 3_000, 9_000].enumerated() {
            let enqueue = SpoolCommand.Enqueue(queueID: "q\(i)", messageID: "q\(i)@t", tenant: "t", sender: "s@t",
                                               recipients: [SpoolCommand.Recipient(address: "r@d.test")],
                                               receivedAt: Int64(at), body: Array("x\r\n".utf8))
            let done = DispatchSemaphore(value: 0)
            log.propose(.enqueue(enqueue)) { _ in done.signal() }
            done.wait()
        }
        let all = try store.dueEntries(now: 5_000, after: nil, limit: 10)
        #expect(all.map(\.queueID) == ["q0", "q1", "q2"])
        #expect(all.map(\.at) == [1_000, 2_000, 3_000])
        let rest = try store.dueEntries(now: 5_000, after: all[0], limit: 10)
        #expect(rest.map(\.queueID) == ["q1", "q2"])
        #expect(try store.dueEntries(now: 5_000, after: all[0], limit: 1).map(\.queueID) == ["q1"])
        #expect(try store.dueEntries(now: 5_000, after: all[2], limit: 10).isEmpty)
        #expect(try store.nextDueTime(after: all[2]) == 9_000)
        #expect(try store.nextDueTime(after: nil) == 1_000)
        // A position whose entry is gone (claimed, delivered) still orders the walk.
        let gone = SpoolStore.DuePosition(at: 1_500, queueID: "zz")
        #expect(try store.dueEntries(now: 5_000, after: gone, limit: 10).map(\.queueID) == ["q1", "q2"])
    }
}
