import Foundation
import Testing
@testable import SpoolStore

@Suite("Deferred event index: a damaged watermark count heals, it does not size a buffer")
struct DeferredIndexDamageTests {
    /// Scenario: one event waits in the unindexed tail and the watermark's pending count is
    /// damaged to about 4.3 billion (bytes 12-15 of `indexed`). Indexing the tail must index the one
    /// event that is really there and reset the count, not try to reserve room for the count
    /// (a review found the reservation asked for terabytes: every later commit aborted the node).
    @Test("a damaged pending count: the real tail is indexed and the count is reset")
    func damagedPendingCount() throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path, options: .batch(4))
        let event = Event(id: "1-0", type: .bounced, messageId: "m1@relay.test", queueId: "Q1", tenant: "acme",
                          sender: "s@acme.test", recipient: "user@example.org", timestampMillis: 1_700_000_000_000)
        try store.withWriteTransaction { txn in
            try store.storeEvent(event, index: 1, ordinal: 0, in: txn)
            try store.indexTailIfDue(in: txn)
            #expect(try store.indexWatermark(in: txn)?.pending == 1)
            var v = Array(try #require(try txn.get(store.dbMeta, SpoolStore.indexedKey)))
            v[12] = 0xFF; v[13] = 0xFF; v[14] = 0xFF; v[15] = 0
            try txn.put(store.dbMeta, SpoolStore.indexedKey, v)
        }
        try store.withWriteTransaction { txn in
            try store.indexTailIfDue(in: txn)
            #expect(try store.indexWatermark(in: txn)?.pending == 0)
        }
        #expect(try store.searchEvents(EventQuery(queueId: "Q1")).events.map(\.id) == ["1-0"])
        var q = EventQuery(); q.recipientDomain = "example.org"
        #expect(try store.searchEvents(q).events.map(\.id) == ["1-0"])
    }
}
