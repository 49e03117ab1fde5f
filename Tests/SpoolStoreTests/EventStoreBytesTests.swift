import CLMDB
import Foundation
import Testing
@testable import SpoolStore

/// The bytes that storing events writes — event records, feed and search-index entries, counts
/// (stored and pending) and the index watermark — compared with fixed digests taken from the code
/// before the per-event work was cut (buffers reused, index entries built from the stored record).
/// Seeded random events of every type, with tenants, unicode and upper-case values, missing and
/// empty fields and long values, go through every write path: deferred and immediate indexing
/// and counts, flushes by size and by index batch, a global and a tenant prune, a restart, and
/// commands applied by the state machine.
@Suite("Stored event bytes: events, index and counts tables equal fixed expectations")
struct EventStoreBytesTests {
    static let t0: Int64 = 1_700_000_000_000

    /// xorshift64: the same sequence on every run and platform.
    struct Rng {
        var x: UInt64
        mutating func next(_ n: Int) -> Int {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return Int(x % UInt64(n))
        }
        mutating func pick<T>(_ a: [T]) -> T { a[next(a.count)] }
        mutating func chance(_ n: Int) -> Bool { next(n) == 0 }
    }

    static let words = ["", "a", "Acme", "ÄCME", "beta", "Gamma-Corp", "日本語", "emoji😀", "quo\"te\\back", "ctl\u{1}\t\n",
                        "MiXeD", "x", String(repeating: "LongWordÄ", count: 50)]
    static let domains = ["example.org", "Example.ORG", "mx.gmail.test", "GMAIL.test", "bücher.de", "例え.jp", "",
                          "a@b", String(repeating: "sub.", count: 120) + "TLD"]

    static func address(_ rng: inout Rng) -> String {
        switch rng.next(8) {
        case 0: return ""
        case 1: return rng.pick(words)  // no @
        case 2: return rng.pick(words) + "@"  // empty domain
        default: return "\(rng.pick(words))\(rng.next(4))@\(rng.pick(domains))"
        }
    }

    static func optional(_ rng: inout Rng, _ values: [String]) -> String? {
        switch rng.next(4) {
        case 0: return nil
        case 1: return ""
        default: return rng.pick(values)
        }
    }

    static func event(_ rng: inout Rng, id: String) -> Event {
        let at = rng.chance(20) ? -Int64(rng.next(200_000)) : t0 + Int64(rng.next(5 * 3_600_000))
        var e = Event(id: id, type: rng.pick(Event.Kind.allCases), messageId: rng.chance(4) ? "" : "m\(rng.next(50))@Relay.test",
                      queueId: "Q\(rng.next(30))", tenant: rng.pick(words), sender: address(&rng),
                      recipient: address(&rng), timestampMillis: at)
        if !rng.chance(3) {
            e.smtpCode = rng.pick([250, 451, 550, 0])
            e.enhancedCode = optional(&rng, ["2.0.0", "5.1.1"])
            e.response = optional(&rng, ["ok", "no such user", String(repeating: "long response ", count: 40)])
            e.remoteHost = optional(&rng, ["mx.example.org", "MX2"])
            e.attempt = rng.chance(3) ? nil : rng.next(5)
            e.bounceClass = optional(&rng, ["bad-mailbox", "Policy", "quota"])
            e.sendingIP = optional(&rng, ["192.0.2.1", "2001:DB8::1", "10.0.0.\(rng.next(3))"])
            e.pool = optional(&rng, ["default", "Warm-Up", "bulk"])
        }
        return e
    }

    /// The message an event is stored with (gives the counts its source IP and accept time).
    static func message(_ rng: inout Rng, at: Int64) -> StoredMessage? {
        guard !rng.chance(4) else { return nil }
        let enqueue = SpoolCommand.Enqueue(queueID: "M", clientIP: rng.pick(["", "10.1.1.1", "2001:DB8::A", "Weird"]),
                                           sender: "s@x", recipients: [.init(address: "r@x")],
                                           receivedAt: at - Int64(rng.next(400_000_000)), body: [1])
        return StoredMessage(enqueue: enqueue)
    }

    /// FNV-1a 64 over `[len u32][key][len u32][value]` of every entry, with the entry count.
    struct Digest: Equatable, CustomStringConvertible {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var entries = 0
        mutating func add<C: Collection>(_ bytes: C) where C.Element == UInt8 {
            var n = UInt32(bytes.count).bigEndian
            withUnsafeBytes(of: &n) { for b in $0 { mix(b) } }
            for b in bytes { mix(b) }
        }
        private mutating func mix(_ b: UInt8) {
            hash ^= UInt64(b)
            hash &*= 0x0000_0100_0000_01B3
        }
        var description: String { "(\(entries), 0x\(String(hash, radix: 16)))" }
    }

    /// Digests of the events table, the event_index table (feed, search index, stored counts)
    /// and the meta entries events write (pending counts, index watermark).
    static func digests(_ store: SpoolStore) throws -> [Digest] {
        try store.read { txn in
            var out: [Digest] = []
            for dbi in [store.dbEvents, store.dbEventIndex] {
                var d = Digest()
                let cursor = try txn.cursor(dbi)
                var item = try cursor.get(MDB_FIRST)
                while let cur = item {
                    d.add(cur.key)
                    d.add(cur.value)
                    d.entries += 1
                    item = try cursor.get(MDB_NEXT)
                }
                cursor.close()
                out.append(d)
            }
            var meta = Digest()
            for key in [SpoolStore.pendingStatsKey, SpoolStore.indexedKey] {
                meta.add(key)
                if let v = try txn.get(store.dbMeta, key) {
                    meta.add(v)
                    meta.entries += 1
                }
            }
            out.append(meta)
            return out
        }
    }

    /// Stores `rounds` write transactions of 1–4 random events each, the way a commit does
    /// (deferred index, then `indexTailIfDue`); every 9th round indexes its events at once.
    static func storeRounds(_ store: SpoolStore, _ rng: inout Rng, index: inout UInt64, rounds: Int) throws {
        for round in 0..<rounds {
            index += 1
            let i = index
            var events: [(Event, StoredMessage?)] = []
            for ordinal in 0...rng.next(4) {
                let e = event(&rng, id: "\(i)-\(ordinal)")
                events.append((e, message(&rng, at: e.timestampMillis)))
            }
            try store.withWriteTransaction { txn in
                for (ordinal, (e, m)) in events.enumerated() {
                    try store.storeEvent(e, index: i, ordinal: ordinal, message: m, deferIndex: round % 9 != 8, in: txn)
                }
                try store.indexTailIfDue(in: txn)
            }
        }
    }

    /// Applies enqueue, claim and outcome commands through the log path (the state machine builds the events).
    static func relay(_ store: SpoolStore, _ rng: inout Rng, index: inout UInt64, messages: Int) throws {
        for m in 0..<messages {
            let at = t0 + Int64(rng.next(4 * 3_600_000))
            let id = "R\(index)-\(m)"
            let recipients = (0...rng.next(3)).map { r in "\(rng.pick(words))\(r)@\(rng.pick(domains))" }
            let enqueue = SpoolCommand.Enqueue(
                queueID: id, messageID: "\(m)@Relay.test", tenant: rng.pick(words), authUser: "app",
                clientIP: rng.pick(["10.0.0.1", "", "2001:DB8::B"]), sender: address(&rng),
                recipients: recipients.map { SpoolCommand.Recipient(address: $0) }, receivedAt: at, body: Array("x\r\n".utf8))
            let results = recipients.map { r -> SpoolCommand.RecipientResult in
                switch rng.next(3) {
                case 0: return .init(recipient: r, disposition: .delivered, smtpCode: 250, enhancedCode: "2.0.0",
                                     response: "ok", remoteHost: "mx")
                case 1: return .init(recipient: r, disposition: .deferred(until: at + 600_000), smtpCode: 451,
                                     enhancedCode: "4.0.0", response: "later", remoteHost: "mx")
                default: return .init(recipient: r, disposition: .bounced, smtpCode: 550, enhancedCode: "5.1.1",
                                      response: "no", remoteHost: "mx", bounceClass: rng.pick(["bad-mailbox", "Policy"]))
                }
            }
            let commands: [SpoolCommand] = [
                .enqueue(enqueue),
                .claim(.init(queueID: id, owner: "n1", attempt: 1, issuedAt: at, expiresAt: at + 60_000)),
                .outcome(.init(queueID: id, attempt: 1, timestamp: at + Int64(rng.next(900_000)), results: results)),
            ]
            let entries = commands.map { c -> LogEntry in
                index += 1
                return LogEntry(index: index, term: 1, command: c)
            }
            for result in try store.commit(entries) { try result.get() }
        }
    }

    static func prune(_ store: SpoolStore, index: inout UInt64, _ p: SpoolCommand.PruneEvents) throws {
        index += 1
        for result in try store.commit([LogEntry(index: index, term: 1, command: .pruneEvents(p))]) { try result.get() }
    }

    /// The expected digests (events, event_index, meta) after the first stores, after the
    /// prunes and at the end, taken from the code before the change.
    static let expected: [Int: [[String]]] = [
        0: [["(714, 0x70592c8a9e1bfbb0)", "(8143, 0x7906d88c086e7a67)", "(2, 0x803415ca4ccc09ba)"],
            ["(582, 0xb169259120890306)", "(7080, 0x7ab24d8b8339ce48)", "(1, 0xeaf6f783f4cc73dc)"],
            ["(952, 0x6f612fd9e46f869)", "(11269, 0xa4ebafe9a65aed10)", "(2, 0xcee5280b5e3cfd01)"]],
        1: [["(646, 0xecc2f78779c8cae)", "(7451, 0xc63625d5fc7f7d02)", "(1, 0xa535f59cb29d52af)"],
            ["(518, 0x2dcf3a18f4dbbf57)", "(6403, 0x512733979384d0a7)", "(1, 0xa535f59cb29d52af)"],
            ["(860, 0x89235ceec7d5c8a2)", "(10263, 0x914f1e22410440a1)", "(1, 0x919225bc16551495)"]],
        2: [["(663, 0x7bc161118b91dc09)", "(6993, 0x329efc970128cbd5)", "(2, 0xbf2064469215df7b)"],
            ["(551, 0xa1377217b5a82232)", "(6203, 0x54477f8207d5e0d6)", "(1, 0x2c2c975743deca34)"],
            ["(915, 0x34c671070cd3422d)", "(7671, 0x822b4c0d515259d3)", "(2, 0xee97937e2d7d8f6b)"]],
    ]

    /// Setups: 0 deferred index (batches of 7) and counts; 1 every event indexed and counted at
    /// once; 2 a tail never due (indexed only by the import and searched by the tenant prune).
    @Test("seeded random events stored, flushed, pruned and reopened leave the same bytes as before",
          arguments: [0, 1, 2])
    func sameBytes(setup: Int) throws {
        let dir = TempDirectory()
        var options = SpoolStore.Options(mapSize: 256 << 20, durable: false)
        options.eventIndexBatch = [7, 1, 100_000][setup]
        options.deferEventCounts = setup != 1
        var rng = Rng(x: 0x9E37_79B9_7F4A_7C15 &+ UInt64(setup))
        var index: UInt64 = 0
        var seen: [[String]] = []

        var store = try SpoolStore(directory: dir.path, options: options)
        try Self.storeRounds(store, &rng, index: &index, rounds: 150)
        try Self.relay(store, &rng, index: &index, messages: 40)
        try store.importEvents((0..<20).map { Self.event(&rng, id: "\($0)") }, firstIndex: index + 1)
        index += 20
        try Self.storeRounds(store, &rng, index: &index, rounds: 50)
        seen.append(try Self.digests(store).map(\.description))

        try Self.prune(store, index: &index, .init(before: Self.t0 + 2 * 3_600_000, maxCount: 60))
        try Self.prune(store, index: &index, .init(before: Self.t0 + 4 * 3_600_000, maxCount: 1000, tenant: "ÄCME"))
        try Self.prune(store, index: &index, .init(before: Self.t0 + 4 * 3_600_000, maxCount: 25, tenant: "acme"))
        seen.append(try Self.digests(store).map(\.description))

        store.close()
        store = try SpoolStore(directory: dir.path, options: options)
        try Self.storeRounds(store, &rng, index: &index, rounds: 120)
        try Self.relay(store, &rng, index: &index, messages: 20)
        try Self.prune(store, index: &index, .init(before: Self.t0 + 3 * 3_600_000, maxCount: 100))
        try Self.storeRounds(store, &rng, index: &index, rounds: 30)
        seen.append(try Self.digests(store).map(\.description))
        store.close()

        #expect(seen == Self.expected[setup])
    }
}
