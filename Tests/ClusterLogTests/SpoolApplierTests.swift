import Foundation
import RaftCore
import SpoolStore
import Synchronization
import Testing
@testable import ClusterLog

/// The applier in front of a full spool: committed entries ahead of one that does not fit are
/// applied and answered, in order, instead of the whole batch retrying forever behind it.
@Suite("Spool applier on a full store")
struct SpoolApplierTests {
    static func enqueue(_ id: String, bytes: Int) -> [UInt8] {
        SpoolCommand.enqueue(SpoolCommand.Enqueue(queueID: id, sender: "a@example.com",
                                                  recipients: [SpoolCommand.Recipient(address: "b@example.net")],
                                                  receivedAt: 1_700_000_000_000,
                                                  body: Array(repeating: UInt8(ascii: "x"), count: bytes))).encoded()
    }

    @Test("a batch whose third entry does not fit: the first two are applied and reported, the third is retried with storageFull reported")
    func splitsAtTheEntryThatDoesNotFit() throws {
        let dir = NSTemporaryDirectory() + "sx-applier-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SpoolStore(directory: dir, options: SpoolStore.Options(mapSize: 4 << 20, durable: false))
        defer { store.close() }
        let applied = Mutex<[UInt64]>([])
        let errors = Mutex<[StoreError.Code]>([])
        let applier = SpoolApplier(store: store, metadataTag: 0xff, onApplied: { batch in
            applied.withLock { list in
                for a in batch { if case .success = a.result { list.append(a.index) } }
            }
        }, onError: { error in errors.withLock { $0.append(error.code) } })
        applier.enqueue([
            Raft.Entry(term: 1, index: 1, data: Self.enqueue("A", bytes: 100_000)),
            Raft.Entry(term: 1, index: 2, data: Self.enqueue("B", bytes: 100_000)),
            Raft.Entry(term: 1, index: 3, data: Self.enqueue("C", bytes: 8 << 20)),
        ])
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, errors.withLock({ $0.isEmpty }) || applied.withLock({ $0.count < 2 }) {
            Thread.sleep(forTimeInterval: 0.02)
        }
        applier.stop()
        #expect(applied.withLock { $0 } == [1, 2])
        #expect(errors.withLock { $0.first } == .storageFull)
        #expect(try store.message(id: "A") != nil)
        #expect(try store.message(id: "B") != nil)
        #expect(try store.message(id: "C") == nil)
    }
}
