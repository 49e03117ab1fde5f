import Foundation
import Registry
import Testing
@testable import SpoolStore

extension WebhookTallyTests {
    @Test("a transaction that does not commit (the spool is full) leaves the counts alone, also after the next commit")
    func abortedTransactionLeavesTallyAlone() throws {
        let dir = TempDirectory()
        var store = try SpoolStore(directory: dir.path, options: .init(mapSize: 2 << 20))
        var index = try store.lastApplied().index
        func commit(_ commands: [SpoolCommand]) throws -> [Result<Void, StoreError>] {
            let entries = commands.map { c in
                index += 1
                return LogEntry(index: index, term: 0, command: c)
            }
            return try store.commit(entries)
        }
        _ = try commit([.registry(.webhook(.create(WebhookDispatchStoreTests.endpoint("ep_a"))))])
        _ = try commit([makeEnqueue("Q0")])
        #expect(store.webhookTally.counts("ep_a") == .init(pending: 1))
        let committed = index
        // One transaction: an enqueue that writes a call, then one too big for the map.
        #expect(throws: StoreError.self) {
            try commit([makeEnqueue("Q1"), makeEnqueue("big", body: testBody(size: 4 << 20, seed: 7))])
        }
        index = committed
        #expect(store.webhookTally.counts("ep_a") == .init(pending: 1), "nothing of the failed transaction counts")
        #expect(try store.read { try store.persistedWebhookTally(in: $0) } == ["ep_a": .init(pending: 1)],
                "nothing of the failed transaction is persisted")
        _ = try commit([makeEnqueue("Q2")])
        var full = try Self.expectMatchesFullCount(store, "after a failed transaction and a commit")
        #expect(full["ep_a"] == .init(pending: 2))
        store.close()
        store = try SpoolStore(directory: dir.path, options: .init(mapSize: 2 << 20))
        defer { store.close() }
        #expect(store.webhookTally.recounts == (0, 0))
        full = try Self.expectMatchesFullCount(store, "reopened after a failed transaction")
        #expect(full["ep_a"] == .init(pending: 2))
    }
}
