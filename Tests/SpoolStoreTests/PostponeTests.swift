import Foundation
import SpoolStore
import Synchronization
import Testing

/// The batched postpone command (`SpoolCommand.postpone`, tag 13, format 4): what it moves in the
/// store, what it leaves alone, and how it is written for older readers.
@Suite("Spool postpone")
struct PostponeTests {
    static func enqueue(_ id: String, at: Int64) -> SpoolCommand {
        .enqueue(SpoolCommand.Enqueue(queueID: id, messageID: "\(id)@t", tenant: "t", sender: "s@t",
                                      recipients: [SpoolCommand.Recipient(address: "r@d.test")],
                                      receivedAt: at, body: Array("x\r\n".utf8)))
    }

    static func commit(_ log: LocalLog, _ command: SpoolCommand) -> Result<UInt64, StoreError> {
        let result = Mutex<Result<UInt64, StoreError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        log.propose(command) { r in
            result.withLock { $0 = r }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }

    @Test("due messages move later with their due-index entries; leased, not yet due, missing and earlier targets stay")
    func movesOnlyWhatIsDue() throws {
        let dir = NSTemporaryDirectory() + "sx-postpone-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SpoolStore(directory: dir, options: SpoolStore.Options(mapSize: 16 << 20, durable: false))
        defer { store.close() }
        let log = try LocalLog(store: store)
        defer { log.stop() }
        for (id, at) in [("due", 1_000), ("leased", 1_000), ("earlier", 1_000), ("future", 8_000), ("due2", 2_000)] {
            _ = try Self.commit(log, Self.enqueue(id, at: Int64(at))).get()
        }
        _ = try Self.commit(log, .claim(SpoolCommand.Claim(queueID: "leased", owner: "n1", attempt: 1, issuedAt: 4_000,
                                                            expiresAt: 4_500))).get()
        let items = [("due", 60_000), ("leased", 60_000), ("earlier", 500), ("future", 60_000), ("missing", 60_000),
                     ("due2", 70_000)].map { SpoolCommand.Postpone.Item(queueID: $0.0, at: Int64($0.1)) }
        _ = try Self.commit(log, .postpone(SpoolCommand.Postpone(issuedAt: 5_000, items: items))).get()
        let dueNow = try store.dueEntries(now: 59_999, after: nil, limit: 10)
        #expect(dueNow.map(\.queueID) == ["earlier", "leased", "future"], "\(dueNow)")
        #expect(dueNow.map(\.at) == [1_000, 4_500, 8_000])
        let later = try store.dueEntries(now: 100_000, after: dueNow.last, limit: 10)
        #expect(later.map(\.queueID) == ["due", "due2"] && later.map(\.at) == [60_000, 70_000], "\(later)")
        let due = try #require(try store.message(id: "due"))
        #expect(due.recipients.map(\.nextAttemptAt) == [60_000] && due.attempts == 0 && due.lease == nil)
        let leased = try #require(try store.message(id: "leased"))
        #expect(leased.lease?.owner == "n1" && leased.recipients.map(\.nextAttemptAt) == [1_000], "a leased message is left alone")
        #expect(try store.message(id: "missing") == nil)
        #expect(try store.events(EventQuery(limit: 100)).count == 5, "a postpone records no event (5 accepted)")
    }

    @Test("format 4 round-trips; for readers below 4 it is written as a command that changes nothing")
    func formats() throws {
        let p = SpoolCommand.postpone(SpoolCommand.Postpone(issuedAt: 7, items: [.init(queueID: "a", at: 9), .init(queueID: "bb", at: -3)]))
        let bytes = p.encoded()
        #expect(bytes.first == 4 && bytes[1] == 13)
        #expect(try SpoolCommand(decoding: bytes) == p)
        let old = p.encoded(format: 3)
        #expect(old.first! <= 3)
        let decoded = try SpoolCommand(decoding: old)
        #expect(decoded == .pruneEvents(SpoolCommand.PruneEvents(before: Int64.min, maxCount: 0)))
        #expect(SpoolCommand.downgraded(bytes, to: 2).map { try? SpoolCommand(decoding: $0) } == decoded)
        var mislabelled = bytes
        mislabelled[0] = 3
        #expect(throws: StoreError.self) { try SpoolCommand(decoding: mislabelled) }
    }
}
