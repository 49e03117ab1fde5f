import Foundation
import Testing
@testable import SpoolStore

@Suite("Event recording and queries")
struct EventQueryTests {
    static let t0: Int64 = 1_700_000_000_000

    /// Two messages: M1 (alice → bob, carol) fully processed, M2 (dave → bob) accepted only.
    func populated(eventIndexBatch: Int = 512) async throws -> (TempDirectory, SpoolStore, LocalLog) {
        let dir = TempDirectory()
        var options = SpoolStore.Options()
        options.eventIndexBatch = eventIndexBatch
        let store = try SpoolStore(directory: dir.path, options: options)
        let log = try LocalLog(store: store)
        _ = try await log.proposeAndWait(makeEnqueue("M1", recipients: ["Bob@example.org", "carol@example.org"],
                                                     sender: "alice@example.com", at: Self.t0)).get()
        _ = try await log.proposeAndWait(.claim(.init(queueID: "M1", owner: "n1", attempt: 1, issuedAt: Self.t0,
                                                      expiresAt: Self.t0 + 60_000))).get()
        _ = try await log.proposeAndWait(.outcome(.init(queueID: "M1", attempt: 1, timestamp: Self.t0 + 2000, results: [
            .init(recipient: "Bob@example.org", disposition: .delivered, smtpCode: 250, enhancedCode: "2.0.0",
                  response: "250 2.0.0 queued", remoteHost: "mx.example.org"),
            .init(recipient: "carol@example.org", disposition: .bounced, smtpCode: 550, enhancedCode: "5.1.1",
                  response: "no such user", remoteHost: "mx.example.org", bounceClass: "bad-mailbox"),
        ]))).get()
        _ = try await log.proposeAndWait(makeEnqueue("M2", recipients: ["bob@example.org"], sender: "dave@example.com",
                                                     at: Self.t0 + 1000)).get()
        return (dir, store, log)
    }

    @Test("without filters all events come back newest first")
    func all() async throws {
        let (dir, store, log) = try await populated()
        let events = try store.events(EventQuery())
        #expect(events.map(\.type) == [.bounced, .delivered, .accepted, .accepted, .accepted])
        #expect(events.map(\.timestampMillis) == [Self.t0 + 2000, Self.t0 + 2000, Self.t0 + 1000, Self.t0, Self.t0])
        #expect(Set(events.map(\.id)).count == 5)
        log.stop()
        _ = dir
    }

    @Test("filters by recipient (case-insensitive), sender, type and queue ID combine")
    func filters() async throws {
        let (dir, store, log) = try await populated()
        let bob = try store.events(EventQuery(recipient: "BOB@example.org"))
        #expect(bob.map(\.queueId) == ["M1", "M2", "M1"])
        #expect(bob.map(\.type) == [.delivered, .accepted, .accepted])
        #expect(try store.events(EventQuery(sender: "alice@example.com")).count == 4)
        #expect(try store.events(EventQuery(recipient: "bob@example.org", type: .accepted)).map(\.queueId) == ["M2", "M1"])
        #expect(try store.events(EventQuery(type: .bounced)).map(\.recipient) == ["carol@example.org"])
        #expect(try store.events(EventQuery(type: .accepted)).map(\.queueId) == ["M2", "M1", "M1"])
        #expect(try store.events(EventQuery(type: .failed)).isEmpty)
        #expect(try store.events(EventQuery(queueId: "M2")).map(\.type) == [.accepted])
        #expect(try store.events(EventQuery(recipient: "nobody@example.org")).isEmpty)
        #expect(try store.events(EventQuery(sender: "dave@example.com", queueId: "M1")).isEmpty)
        log.stop()
        _ = dir
    }

    @Test("since, before and limit bound the time window and the page")
    func window() async throws {
        let (dir, store, log) = try await populated()
        #expect(try store.events(EventQuery(since: Self.t0 + 1000)).count == 3)
        #expect(try store.events(EventQuery(before: Self.t0 + 1000)).map(\.timestampMillis) == [Self.t0, Self.t0])
        #expect(try store.events(EventQuery(recipient: "bob@example.org", since: Self.t0 + 1, before: Self.t0 + 2000))
            .map(\.queueId) == ["M2"])
        #expect(try store.events(EventQuery(limit: 2)).map(\.type) == [.bounced, .delivered])
        log.stop()
        _ = dir
    }

    @Test("outcome events carry code, enhanced code, response, remote host, attempt and bounce class")
    func outcomeFields() async throws {
        let (dir, store, log) = try await populated()
        let bounce = try #require(try store.events(EventQuery(type: .bounced)).first)
        #expect(bounce.smtpCode == 550 && bounce.enhancedCode == "5.1.1" && bounce.response == "no such user")
        #expect(bounce.remoteHost == "mx.example.org" && bounce.attempt == 1 && bounce.bounceClass == "bad-mailbox")
        #expect(bounce.messageId == "M1@relay.test" && bounce.tenant == "acme" && bounce.sender == "alice@example.com")
        let accepted = try #require(try store.events(EventQuery(queueId: "M2")).first)
        #expect(accepted.smtpCode == nil && accepted.attempt == nil)
        log.stop()
        _ = dir
    }

    @Test("pruning deletes the oldest events before the cutoff, bounded per command, with their index entries")
    func prune() async throws {
        let (dir, store, log) = try await populated(eventIndexBatch: 1)  // every event indexed in its commit
        let first = try await log.propose(.pruneEvents(.init(before: Self.t0 + 1500, maxCount: 2)))
        #expect(first > 0)
        #expect(try store.events(EventQuery()).map(\.timestampMillis) == [Self.t0 + 2000, Self.t0 + 2000, Self.t0 + 1000])
        _ = try await log.propose(.pruneEvents(.init(before: Self.t0 + 1500)))
        #expect(try store.events(EventQuery()).map(\.type) == [.bounced, .delivered])
        #expect(try store.events(EventQuery(queueId: "M2")).isEmpty)
        let counts = try store.tableCounts()
        #expect(counts["events"] == 2)
        // delivered: 7 index entries (no bounce class) + feed; bounced: 8 + feed. Counts (0x20…) stay.
        #expect(try eventIndexEntryCount(store) == 8 + 9)
        #expect(try store.eventFeed(after: nil, limit: 10).map(\.type) == [.delivered, .bounced])
        // The queued message M2 itself is untouched.
        #expect(try store.message(id: "M2") != nil)
        log.stop()
        _ = dir
    }

    @Test("the event feed returns events in commit order after a given event ID, page by page")
    func feed() async throws {
        let (dir, store, log) = try await populated()
        let all = try store.eventFeed(after: nil, limit: 100)
        // Commit order: M1 accepted ×2, M1 delivered+bounced, then M2 accepted (older timestamp than the outcomes).
        #expect(all.map(\.type) == [.accepted, .accepted, .delivered, .bounced, .accepted])
        #expect(all.last?.queueId == "M2")
        let page1 = try store.eventFeed(after: nil, limit: 2)
        let page2 = try store.eventFeed(after: page1.last?.id, limit: 2)
        let page3 = try store.eventFeed(after: page2.last?.id, limit: 2)
        #expect(page1 + page2 + page3 == all)
        #expect(try store.eventFeed(after: all.last?.id, limit: 10).isEmpty)
        let error = #expect(throws: StoreError.self) { try store.eventFeed(after: "garbage", limit: 1) }
        #expect(error?.code == .invalidCommand)
        log.stop()
        _ = dir
    }

    @Test("a complaint records a complained event and suppresses the recipient for the tenant")
    func complaint() async throws {
        let (dir, store, log) = try await populated()
        _ = try await log.propose(.complaint(.init(tenant: "acme", recipient: "Bob@example.org", sender: "alice@example.com",
                                                   messageID: "M1@relay.test", queueID: "M1", timestamp: Self.t0 + 9000)))
        let events = try store.events(EventQuery(recipient: "bob@example.org", type: .complained))
        #expect(events.count == 1)
        #expect(events.first?.queueId == "M1" && events.first?.response == "abuse")
        #expect(try store.suppression(tenant: "acme", address: "bob@example.org")?.reason == "complaint")
        _ = try await log.propose(.complaint(.init(tenant: "acme", recipient: "x@example.org", timestamp: Self.t0,
                                                   suppress: false)))
        #expect(try store.suppression(tenant: "acme", address: "x@example.org") == nil)
        log.stop()
        _ = dir
    }

    @Test("events encode to the documented JSON shape and decode back")
    func json() throws {
        let e = Event(id: "3-1", type: .bounced, messageId: "m@x", queueId: "Q", tenant: "acme", sender: "a@x",
                      recipient: "b@y", timestampMillis: Self.t0 + 123, smtpCode: 550, enhancedCode: "5.1.1",
                      response: "no", remoteHost: "mx", attempt: 2, bounceClass: "bad-mailbox")
        let data = try JSONEncoder().encode(e)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["id", "type", "messageId", "queueId", "tenant", "sender", "recipient", "timestamp",
                                     "smtpCode", "enhancedCode", "response", "remoteHost", "attempt", "bounceClass"])
        #expect(object["timestamp"] as? String == "2023-11-14T22:13:20.123Z")
        #expect(object["type"] as? String == "bounced")
        #expect(try JSONDecoder().decode(Event.self, from: data) == e)
        var accepted = e
        (accepted.smtpCode, accepted.enhancedCode, accepted.response) = (nil, nil, nil)
        (accepted.remoteHost, accepted.attempt, accepted.bounceClass) = (nil, nil, nil)
        let plain = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(accepted)) as? [String: Any])
        #expect(plain.count == 8)
    }
}
