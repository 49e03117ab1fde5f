import Foundation
import Testing
@testable import SpoolStore

extension SpoolStore.Options {
    /// Small, unsynced test store options that index events in batches of `n`.
    static func batch(_ n: Int) -> SpoolStore.Options {
        var o = SpoolStore.Options(mapSize: 64 << 20, durable: false)
        o.eventIndexBatch = n
        return o
    }
}

@Suite("Deferred event indexing: search sees the unindexed tail, batches index it once, crashes and retention")
struct DeferredEventIndexTests {
    static let t0: Int64 = 1_700_000_000_000

    /// Enqueues `count` messages (ids `D<first+i>`, two recipients each) and delivers or bounces
    /// every recipient of every other one: 2 or 4 events per message.
    func relay(_ log: LocalLog, first: Int, count: Int, tenant: String = "acme") async throws {
        for m in first..<(first + count) {
            let at = Self.t0 + Int64(m) * 1000
            let id = "D\(m)"
            let rcpts = ["user\(m % 5)@example.org", "other\(m % 3)@gmail.test"]
            _ = try await log.proposeAndWait(makeEnqueue(id, recipients: rcpts, sender: "s\(m % 2)@acme.test", at: at,
                                                         tenant: tenant)).get()
            guard m % 2 == 0 else { continue }
            _ = try await log.proposeAndWait(.claim(.init(queueID: id, owner: "n1", attempt: 1, issuedAt: at,
                                                          expiresAt: at + 60_000))).get()
            _ = try await log.proposeAndWait(.outcome(.init(queueID: id, attempt: 1, timestamp: at + 500, results: [
                .init(recipient: rcpts[0], disposition: .delivered, smtpCode: 250, enhancedCode: "2.0.0",
                      response: "ok", remoteHost: "mx"),
                .init(recipient: rcpts[1], disposition: .bounced, smtpCode: 550, enhancedCode: "5.1.1",
                      response: "no", remoteHost: "mx", bounceClass: "bad-mailbox"),
            ]))).get()
        }
    }

    /// Index entries the stored events must have once all are indexed: one per indexed field, plus the feed entry.
    func expectedEntries(_ events: [Event]) -> Int {
        events.reduce(0) { n, e in
            n + 1 + SpoolKeys.EventIndex.allCases.filter { $0.field(of: e) != nil }.count
        }
    }

    /// Queries over every indexed filter, single and combined.
    func queries(_ all: [Event]) -> [EventQuery] {
        var out: [EventQuery] = [EventQuery(type: .accepted), EventQuery(type: .bounced),
                                 EventQuery(recipient: "USER2@example.org"), EventQuery(sender: "s1@acme.test"),
                                 EventQuery(queueId: "D6"), EventQuery(type: .delivered, since: Self.t0 + 10_000)]
        var q = EventQuery(); q.messageId = "D7@relay.test"; out.append(q)
        q = EventQuery(type: .bounced); q.recipientDomain = "gmail.test"; q.bounceClass = "bad-mailbox"; out.append(q)
        q = EventQuery(before: Self.t0 + 20_000); q.tenant = "ACME"; out.append(q)
        q = EventQuery(recipient: all[3].recipient); q.queueId = all[3].queueId; out.append(q)
        return out
    }

    /// Every query answers what an in-memory filter of all events answers, in one page and page by page,
    /// with no event twice.
    func checkSearches(_ store: SpoolStore, _ all: [Event]) throws {
        let reference = EventSearchTests()
        for var q in queries(all) {
            let want = reference.reference(all, q)
            #expect(!want.isEmpty, "query \(q) matches nothing")
            q.limit = 10_000
            let whole = try store.searchEvents(q).events
            #expect(whole == want, "query \(q)")
            q.limit = 3
            let paged = try reference.allPages(store, q)
            #expect(paged == want, "paged query \(q)")
            #expect(Set(paged.map(\.id)).count == paged.count, "duplicates in \(q)")
        }
    }

    @Test("an event is found by each indexed filter right after its commit, before its batch is indexed")
    func visibleAtOnce() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path, options: .batch(100))
        let log = try LocalLog(store: store)
        _ = try await log.proposeAndWait(makeEnqueue("Q1", recipients: ["Bob@Example.org"], sender: "alice@acme.test",
                                                     at: Self.t0, tenant: "Acme")).get()
        #expect(try store.unindexedEventCount() == 1)
        #expect(try eventIndexEntryCount(store) == 1)  // the feed entry only: no index entry yet
        var queries = [EventQuery(recipient: "bob@example.org"), EventQuery(sender: "ALICE@acme.test"),
                       EventQuery(type: .accepted), EventQuery(queueId: "Q1")]
        var q = EventQuery(); q.messageId = "Q1@relay.test"; queries.append(q)
        q = EventQuery(); q.tenant = "acme"; queries.append(q)
        q = EventQuery(); q.recipientDomain = "EXAMPLE.org"; queries.append(q)
        for q in queries {
            #expect(try store.searchEvents(q).events.map(\.queueId) == ["Q1"], "query \(q)")
        }
        #expect(try store.searchEvents(EventQuery(queueId: "Q2")).events.isEmpty)
        #expect(try store.searchEvents(EventQuery(recipient: "bob@example.org", before: Self.t0)).events.isEmpty)
        log.stop()
        _ = dir
    }

    @Test("with indexed and unindexed events mixed, every search equals an in-memory filter across pages; a full batch is indexed once")
    func mixed() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path, options: .batch(23))
        let log = try LocalLog(store: store)
        try await relay(log, first: 0, count: 30)
        let all = try store.events(EventQuery(limit: 10_000))
        #expect(all.count == 90)
        let tail = try store.unindexedEventCount()
        #expect(tail > 0 && tail < 23 + 4, "tail \(tail)")
        #expect(try eventIndexEntryCount(store) == expectedEntries(all) - (try tailEntries(store)))
        try checkSearches(store, all)
        log.stop()
        _ = dir
    }

    /// Index entries (without feed entries) that the unindexed tail will get.
    func tailEntries(_ store: SpoolStore) throws -> Int {
        let tail = try store.read { txn in try store.unindexedTail(in: txn) }
        return expectedEntries(tail.map(\.1)) - tail.count
    }

    @Test("after a crash the unindexed tail is still searchable, and a later batch indexes it exactly once")
    func crash() async throws {
        let dir = TempDirectory()
        let crashed = TempDirectory()
        let options = SpoolStore.Options.batch(40)
        do {
            let store = try SpoolStore(directory: dir.path, options: options)
            let log = try LocalLog(store: store)
            try await relay(log, first: 0, count: 30)  // 90 events: two batches indexed, a tail left
            #expect(try store.unindexedEventCount() > 0)
            // What a crash leaves on disk: the last committed state, copied while the writer runs on.
            try store.backup(to: crashed.path + "/spool")
            try await relay(log, first: 30, count: 4)
            log.stop()
        }
        let store = try SpoolStore(directory: crashed.path + "/spool", options: options)
        let all = try store.events(EventQuery(limit: 10_000))
        #expect(all.count == 90)
        let tail = try store.unindexedEventCount()
        #expect(tail > 0)
        try checkSearches(store, all)
        let log = try LocalLog(store: store)
        try await relay(log, first: 100, count: 20)  // enough to cross the batch: the old tail is indexed with it
        let now = try store.events(EventQuery(limit: 10_000))
        #expect(now.count == 90 + 60)
        #expect(try store.unindexedEventCount() < tail + 60)
        #expect(try eventIndexEntryCount(store) == expectedEntries(now) - (try tailEntries(store)))
        try checkSearches(store, now)
        log.stop()
        _ = dir
    }

    @Test("retention removes unindexed events too, and a later batch does not index what was removed")
    func retention() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path, options: .batch(1000))
        let log = try LocalLog(store: store)
        try await relay(log, first: 0, count: 10, tenant: "acme")
        try await relay(log, first: 10, count: 10, tenant: "globex")
        let all = try store.events(EventQuery(limit: 10_000))
        #expect(try store.unindexedEventCount() == all.count)
        let cutoff = Self.t0 + 15_000
        _ = try await log.propose(.pruneEvents(.init(before: cutoff, tenant: "GLOBEX")))
        let keep1 = all.filter { !($0.tenant == "globex" && $0.timestampMillis < cutoff) }
        #expect(keep1.count < all.count)
        #expect(try store.events(EventQuery(limit: 10_000)) == keep1)
        var q = EventQuery(limit: 10_000); q.tenant = "globex"
        #expect(try store.searchEvents(q).events == keep1.filter { $0.tenant == "globex" })
        _ = try await log.propose(.pruneEvents(.init(before: Self.t0 + 5_000)))
        let keep2 = keep1.filter { $0.timestampMillis >= Self.t0 + 5_000 }
        #expect(try store.events(EventQuery(limit: 10_000)) == keep2)
        #expect(try store.searchEvents(EventQuery(queueId: "D2", limit: 10_000)).events.isEmpty)
        // Index everything now (batch of 1 from here on): only the kept events get entries.
        log.stop()
        store.close()
        let reopened = try SpoolStore(directory: dir.path, options: .batch(1))
        let log2 = try LocalLog(store: reopened)
        try await relay(log2, first: 40, count: 1)
        #expect(try reopened.unindexedEventCount() == 0)
        let now = try reopened.events(EventQuery(limit: 10_000))
        #expect(now.count == keep2.count + 4)
        #expect(try eventIndexEntryCount(reopened) == expectedEntries(now))
        try checkSearches(reopened, now)
        log2.stop()
        _ = dir
    }
}
