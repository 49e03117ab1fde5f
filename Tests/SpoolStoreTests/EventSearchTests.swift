import CLMDB
import Foundation
import Testing
@testable import SpoolStore

/// Index and feed entries of the event index table (the event counts, tags 0x20…, excluded).
func eventIndexEntryCount(_ store: SpoolStore) throws -> Int {
    try store.read { txn in
        let cursor = try txn.cursor(store.dbEventIndex)
        defer { cursor.close() }
        var n = 0
        var item = try cursor.get(MDB_FIRST)
        while let cur = item, cur.key[0] < EventStats.countTag {
            n += 1
            item = try cursor.get(MDB_NEXT)
        }
        return n
    }
}

@Suite("Event search: indexes, intersections, cursors, counts and per-tenant retention")
struct EventSearchTests {
    static let t0: Int64 = 1_700_000_000_000
    static let tenants = ["acme", "Globex", "initech"]
    static let domains = ["example.org", "gmail.test", "Yahoo.test", "corp.test"]
    static let classes = ["bad-mailbox", "spam-block", "quota"]

    /// 120 messages of 1–3 recipients from three tenants and four source IPs, spread over three
    /// hours, each followed by an outcome (delivered, deferred or bounced per recipient, chosen
    /// by a fixed pseudo-random sequence).
    /// `eventIndexBatch` 1 indexes every event in its own commit; larger values leave a tail of
    /// events not indexed yet, which searches read directly.
    func populated(eventIndexBatch: Int = 1, deferEventCounts: Bool = true) async throws -> (TempDirectory, SpoolStore, LocalLog) {
        let dir = TempDirectory()
        var options = SpoolStore.Options()
        options.eventIndexBatch = eventIndexBatch
        options.deferEventCounts = deferEventCounts
        let store = try SpoolStore(directory: dir.path, options: options)
        let log = try LocalLog(store: store)
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return Int(x % UInt64(n))
        }
        for m in 0..<120 {
            let at = Self.t0 + Int64(m) * 90_000
            let recipients = (0...next(3)).map { r in "user\(next(5))-\(r)@\(Self.domains[next(4)])" }
            let id = "Q\(m)"
            let tenant = Self.tenants[next(3)]
            let enqueue = SpoolCommand.Enqueue(
                queueID: id, messageID: "m\(m)@relay.test", tenant: tenant, authUser: "app",
                clientIP: "10.0.0.\(next(4))", sender: "sender\(next(3))@\(tenant.lowercased()).test",
                recipients: recipients.map { SpoolCommand.Recipient(address: $0) }, receivedAt: at,
                body: Array("Subject: x\r\n\r\nx\r\n".utf8))
            _ = try await log.proposeAndWait(.enqueue(enqueue)).get()
            _ = try await log.proposeAndWait(.claim(.init(queueID: id, owner: "n1", attempt: 1, issuedAt: at,
                                                          expiresAt: at + 60_000))).get()
            let results = recipients.map { r -> SpoolCommand.RecipientResult in
                switch next(3) {
                case 0: return .init(recipient: r, disposition: .delivered, smtpCode: 250, enhancedCode: "2.0.0",
                                     response: "ok", remoteHost: "mx")
                case 1: return .init(recipient: r, disposition: .deferred(until: at + 600_000), smtpCode: 451,
                                     enhancedCode: "4.0.0", response: "later", remoteHost: "mx")
                default: return .init(recipient: r, disposition: .bounced, smtpCode: 550, enhancedCode: "5.1.1",
                                      response: "no", remoteHost: "mx", bounceClass: Self.classes[next(3)])
                }
            }
            _ = try await log.proposeAndWait(.outcome(.init(queueID: id, attempt: 1, timestamp: at + Int64(1000 * (m % 7 + 1)),
                                                            results: results))).get()
        }
        return (dir, store, log)
    }

    /// The reference answer: every event, filtered in memory.
    func reference(_ all: [Event], _ q: EventQuery) -> [Event] {
        func eq(_ a: String?, _ b: String) -> Bool { a.map { $0.lowercased() == b.lowercased() } ?? true }
        return all.filter { e in
            eq(q.recipient, e.recipient) && eq(q.sender, e.sender) && eq(q.tenant, e.tenant)
                && eq(q.recipientDomain, String(e.recipient.split(separator: "@").last ?? ""))
                && eq(q.bounceClass, e.bounceClass ?? "") && (q.type.map { $0 == e.type } ?? true)
                && (q.queueId.map { $0 == e.queueId } ?? true) && (q.messageId.map { $0 == e.messageId } ?? true)
                && (q.since.map { e.timestampMillis >= $0 } ?? true) && (q.before.map { e.timestampMillis < $0 } ?? true)
        }
    }

    /// Follows cursors until the end; returns every event of every page.
    func allPages(_ store: SpoolStore, _ q: EventQuery) throws -> [Event] {
        var q = q
        var out: [Event] = []
        for _ in 0..<10_000 {
            let page = try store.searchEvents(q)
            out += page.events
            guard let c = page.cursor else { return out }
            q.cursor = c
        }
        Issue.record("cursor never ended")
        return out
    }

    @Test("every combination of filters returns what an in-memory filter returns, newest first, across pages",
          arguments: [1, 97])
    func combinations(eventIndexBatch: Int) async throws {
        let (dir, store, log) = try await populated(eventIndexBatch: eventIndexBatch)
        #expect(try store.unindexedEventCount() > 0 || eventIndexBatch == 1)
        let all = try store.events(EventQuery(limit: 10_000))
        #expect(all.count > 400)
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.timestampMillis >= $1.timestampMillis })
        var queries: [EventQuery] = []
        for tenant in [nil] + Self.tenants.map(Optional.some) {
            for type in [nil, Event.Kind.accepted, .bounced, .deferred] {
                for domain in [nil, "gmail.test", "YAHOO.test"] {
                    var q = EventQuery(type: type)
                    q.tenant = tenant
                    q.recipientDomain = domain
                    queries.append(q)
                }
            }
        }
        var q1 = EventQuery(type: .bounced); q1.bounceClass = "spam-block"; q1.tenant = "globex"; queries.append(q1)
        var q2 = EventQuery(); q2.messageId = "m17@relay.test"; queries.append(q2)
        var q3 = EventQuery(queueId: "Q33"); q3.recipientDomain = "corp.test"; queries.append(q3)
        var q4 = EventQuery(recipient: all[5].recipient.uppercased()); q4.sender = all[5].sender; queries.append(q4)
        var q5 = EventQuery(type: .delivered, since: Self.t0 + 3_600_000, before: Self.t0 + 7_200_000)
        q5.tenant = "initech"; queries.append(q5)
        var q6 = EventQuery(since: Self.t0 + 5_000_000); q6.recipientDomain = "example.org"; queries.append(q6)
        var nonEmpty = 0
        for var q in queries {
            let want = reference(all, q)
            if !want.isEmpty { nonEmpty += 1 }
            q.limit = 10_000
            #expect(try store.searchEvents(q).events == want, "query \(q)")
            q.limit = 7
            let paged = try allPages(store, q)
            #expect(paged == want, "paged query \(q)")
        }
        #expect(nonEmpty > queries.count / 2)
        log.stop()
        _ = dir
    }

    @Test("a full page carries a cursor; the last page has none; a malformed cursor is refused")
    func cursors() async throws {
        let (dir, store, log) = try await populated()
        var q = EventQuery(type: .accepted, limit: 10)
        q.tenant = "acme"
        let first = try store.searchEvents(q)
        #expect(first.events.count == 10)
        let cursor = try #require(first.cursor)
        q.cursor = cursor
        let second = try store.searchEvents(q)
        #expect(Set(first.events.map(\.id)).isDisjoint(with: second.events.map(\.id)))
        #expect(second.events.first!.timestampMillis <= first.events.last!.timestampMillis)
        q.limit = 10_000
        #expect(try store.searchEvents(q).cursor == nil)
        q.cursor = "not-a-cursor"
        let error = #expect(throws: StoreError.self) { try store.searchEvents(q) }
        #expect(error?.code == .invalidCommand)
        log.stop()
        _ = dir
    }

    @Test("counts per minute, hour and day by type, tenant, recipient domain and source IP match the events")
    func counts() async throws {
        let (dir, store, log) = try await populated()
        let all = try store.events(EventQuery(limit: 10_000))
        let end = Self.t0 + 86_400_000
        let perDay = try store.eventCounts(from: Self.t0 - 86_400_000, to: end, resolution: .day, dimension: .all)
        var byType: [Event.Kind: UInt64] = [:]
        for row in perDay { byType[row.type, default: 0] += row.count }
        for kind in [Event.Kind.accepted, .delivered, .deferred, .bounced] {
            #expect(byType[kind] == UInt64(all.filter { $0.type == kind }.count), "\(kind)")
        }
        let minutes = try store.eventCounts(from: Self.t0, to: end, resolution: .minute, dimension: .tenant, key: "ACME")
        #expect(minutes.allSatisfy { $0.key == "acme" && $0.bucketStart % 60_000 == 0 })
        #expect(minutes.reduce(0) { $0 + $1.count } == UInt64(all.filter { $0.tenant == "acme" }.count))
        let minuteStart = EventStats.floor(Self.t0 + 90_000 * 10, 60_000)
        let inMinute = all.filter { $0.timestampMillis >= minuteStart && $0.timestampMillis < minuteStart + 60_000 }
        let minuteRows = try store.eventCounts(from: minuteStart, to: minuteStart + 60_000, resolution: .minute, dimension: .all)
        #expect(minuteRows.reduce(0) { $0 + $1.count } == UInt64(inMinute.count))
        #expect(!inMinute.isEmpty)
        let hours = try store.eventCounts(from: Self.t0 - 3_600_000, to: end, resolution: .hour, dimension: .recipientDomain)
        let gmail = hours.filter { $0.key == "gmail.test" && $0.type == .bounced }.reduce(0) { $0 + $1.count }
        #expect(gmail == UInt64(all.filter { $0.type == .bounced && $0.recipient.hasSuffix("@gmail.test") }.count))
        #expect(hours.contains { $0.key == "yahoo.test" })
        let ips = try store.eventCounts(from: Self.t0 - 3_600_000, to: end, resolution: .hour, dimension: .sourceIP)
        #expect(Set(ips.map(\.key)) == ["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"])
        #expect(ips.reduce(0) { $0 + $1.count } == UInt64(all.count))
        #expect(throws: StoreError.self) {
            try store.eventCounts(from: Self.t0, to: end, resolution: .minute, dimension: .sourceIP)
        }
        let latency = try store.deliveryLatencyBuckets(from: Self.t0 - 3_600_000, to: end)
        // Outcomes come 1–7 s after acceptance: buckets ≤ 2.5 s, ≤ 5 s and ≤ 10 s.
        #expect(latency.values.reduce(0, +) == UInt64(all.filter { $0.type == .delivered }.count))
        #expect(Set(latency.keys).isSubset(of: [3, 4, 5, 6]))
        let p99 = EventStats.quantile(0.99, buckets: latency)
        #expect(p99 == .some(10_000))
        log.stop()
        _ = dir
    }

    @Test("per-tenant retention prunes only that tenant's old events and their index entries")
    func tenantRetention() async throws {
        let (dir, store, log) = try await populated()
        let all = try store.events(EventQuery(limit: 10_000))
        let cutoff = Self.t0 + 5_400_000
        let entriesBefore = try eventIndexEntryCount(store)
        _ = try await log.propose(.pruneEvents(.init(before: cutoff, tenant: "Globex")))
        let after = try store.events(EventQuery(limit: 10_000))
        let gone = all.filter { $0.tenant == "Globex" && $0.timestampMillis < cutoff }
        #expect(!gone.isEmpty)
        #expect(after == all.filter { !($0.tenant == "Globex" && $0.timestampMillis < cutoff) })
        var q = EventQuery(limit: 10_000)
        q.tenant = "globex"
        #expect(try store.searchEvents(q).events.allSatisfy { $0.timestampMillis >= cutoff })
        let perEvent = gone.reduce(0) { $0 + 8 + (($1.bounceClass ?? "").isEmpty ? 0 : 1) }
        let entriesAfter = try eventIndexEntryCount(store)
        #expect(entriesAfter == entriesBefore - perEvent, "\(entriesBefore) \(entriesAfter) \(perEvent) \(gone.count)")
        log.stop()
        _ = dir
    }
}
