import CLMDB
import Foundation
import Registry
import SendarixSupport
import Testing
import TestSupport
@testable import SpoolStore

/// Batch leases read pending calls without their events, and batch results move calls by
/// rewriting their stored bytes (`CallRetirement`); the spool did it record by record before
/// (every call decoded whole, then encoded again). Every node, replaying or not, old build or
/// new, must store the same bytes: two spools get the same seeded random commands, one through
/// each way, and every stored record, event and count must match after each.
@Suite("Webhook batch apply: same bytes as record by record")
struct WebhookBatchApplyEquivalenceTests {
    typealias Seeded = SplitMix64

    /// Two spools fed the same commands: `fast` applies registry commands as the spool does,
    /// `oracle` record by record.
    final class Pair {
        let dirs = (TempDirectory(), TempDirectory())
        let fast: SpoolStore
        let oracle: SpoolStore
        var index: UInt64 = 0
        /// Every apply's result, in order (for the golden digest).
        var results: [String] = []

        init() throws {
            fast = try SpoolStore(directory: dirs.0.path)
            oracle = try SpoolStore(directory: dirs.1.path)
        }

        /// Commits `command` in both spools as a log entry (the spool's own path in both).
        func commit(_ command: SpoolCommand) throws {
            index += 1
            let a = try fast.commit([LogEntry(index: index, term: 1, command: command)])
            let b = try oracle.commit([LogEntry(index: index, term: 1, command: command)])
            #expect("\(a)" == "\(b)")
        }

        /// Applies `command` in one write transaction per spool, `oracle` record by record; the
        /// two results (applied, or why not).
        @discardableResult
        func apply(_ command: RegistryCommand) throws -> (String, String) {
            index += 1
            let out = (try Self.apply(command, index: index, to: fast, byRecords: false),
                       try Self.apply(command, index: index, to: oracle, byRecords: true))
            results.append(out.0)
            return out
        }

        static func apply(_ command: RegistryCommand, index: UInt64, to store: SpoolStore, byRecords: Bool) throws -> String {
            var result = ""
            store.webhookTally.discardStaged()
            try store.withWriteTransaction { txn in
                result = "\(try store.applyRegistry(command, index: index, in: txn, byRecords: byRecords))"
                try store.persistWebhookTally(in: txn)
            }
            store.webhookTally.commitStaged()
            return result
        }

        /// Writes `value` under `key` in both spools (records of older builds, damaged ones).
        func plant(_ key: String, _ value: [UInt8]) throws {
            for store in [fast, oracle] {
                store.webhookTally.discardStaged()
                try store.withWriteTransaction { txn in
                    try store.tallyWebhookWrite(key: Array(key.utf8), value: value, in: txn)
                    try txn.put(store.dbRegistry, Array(key.utf8), value)
                    try store.persistWebhookTally(in: txn)
                }
                store.webhookTally.commitStaged()
            }
        }

        /// Every registry record, event and persisted count, and the in-memory tally.
        static func contents(_ store: SpoolStore) throws -> [String: [[UInt8]: [UInt8]]] {
            var out: [String: [[UInt8]: [UInt8]]] = [:]
            try store.read { txn in
                for (name, dbi) in [("registry", store.dbRegistry), ("events", store.dbEvents), ("meta", store.dbMeta)] {
                    var table: [[UInt8]: [UInt8]] = [:]
                    let cursor = try txn.cursor(dbi)
                    defer { cursor.close() }
                    var item = try cursor.get(MDB_FIRST)
                    while let cur = item {
                        table[Array(cur.key)] = Array(cur.value)
                        item = try cursor.get(MDB_NEXT)
                    }
                    out[name] = table
                }
            }
            for id in ["ep_a", "ep_b"] {
                let n = store.webhookTally.counts(id)
                out["tally/" + id] = [[0]: [UInt8]("\(n.pending) \(n.failed) \(n.delivered)".utf8)]
            }
            return out
        }

        func expectSame(_ what: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let a = try Self.contents(fast), b = try Self.contents(oracle)
            for name in Set(a.keys).union(b.keys).sorted() {
                let x = a[name] ?? [:], y = b[name] ?? [:]
                let differing = Set(x.keys).union(y.keys).filter { x[$0] != y[$0] }
                #expect(differing.isEmpty, "\(what): \(name) differs at \(differing.map { String(decoding: $0, as: UTF8.self) }.sorted().prefix(5))",
                        sourceLocation: sourceLocation)
            }
        }
    }

    static let t0: Int64 = 1_700_000_000_000

    static func attempt(_ g: inout Seeded, at: Int64) -> WebhookCall.Attempt {
        .init(attempt: UInt32.random(in: 1...3, using: &g), at: at, status: [200, 500, 410, 0].randomElement(using: &g)!,
              latencyMillis: Int64.random(in: 0...900, using: &g),
              response: ["", "ok", "é\"\\\u{1}", String(repeating: "z", count: 250)].randomElement(using: &g)!,
              node: ["n1", "n2"].randomElement(using: &g)!)
    }

    /// A batch lease of `id`: some pending calls never batched (and some already batched or
    /// gone, to be refused), cut in random groups; some formed batches again.
    static func lease(_ pair: Pair, _ id: String, _ g: inout Seeded, now: Int64) throws -> WebhookCommand {
        let pending = try pair.fast.pendingWebhookCalls(id, limit: 1000).map(\.sequence)
        let batches = try pair.fast.webhookBatches(id)
        let batched = Set(batches.flatMap(\.sequences))
        var fresh = pending.filter { !batched.contains($0) || Int.random(in: 0..<8, using: &g) == 0 }
        fresh = Array(fresh.prefix(Int.random(in: 0...12, using: &g)))
        if Int.random(in: 0..<6, using: &g) == 0 { fresh.append((fresh.last ?? 0) + 1) }  // not a call
        let array = Int.random(in: 0..<5, using: &g) != 0
        var sizes: [UInt32] = []
        var left = fresh.count
        while left > 0 {
            let n = array ? Int.random(in: 1...min(left, 5), using: &g) : 1
            sizes.append(UInt32(n))
            left -= n
        }
        let formed = batches.filter { _ in Bool.random(using: &g) }.map(\.first)
        return .leaseBatches(.init(endpoint: id, owner: ["n1", "n2"].randomElement(using: &g)!, incarnation: 1,
                                   issuedAt: now, expiresAt: now + Int64.random(in: -1...3000, using: &g), formed: formed,
                                   fresh: fresh, sizes: sizes, array: array))
    }

    /// Results for some batches of `id`: every verdict, and stale ones (another owner, another
    /// attempt, other calls), sometimes the same batch twice in one command.
    static func results(_ pair: Pair, _ id: String, _ g: inout Seeded, now: Int64) throws -> WebhookCommand {
        var out: [WebhookCommand.BatchResult] = []
        let batches = try pair.fast.webhookBatches(id)
        for b in batches where Int.random(in: 0..<3, using: &g) != 0 {
            var a = attempt(&g, at: now)
            a.attempt = b.lease?.attempt ?? 1
            if Int.random(in: 0..<8, using: &g) == 0 { a.attempt += 1 }  // stale attempt
            var seqs = b.sequences
            if Int.random(in: 0..<10, using: &g) == 0 { seqs.removeLast() }  // other calls
            let verdict: WebhookCommand.Verdict = switch Int.random(in: 0..<8, using: &g) {
            case 0...3: .delivered
            case 4, 5: .retry(at: now + Int64.random(in: -10...60_000, using: &g))
            case 6: .exhausted
            default: .gone
            }
            out.append(.init(first: b.first, sequences: seqs, attempt: a, verdict: verdict))
            if Int.random(in: 0..<10, using: &g) == 0 { out.append(out.last!) }
            if Int.random(in: 0..<12, using: &g) == 0 {
                var twice = out.last!
                twice.verdict = .exhausted
                out.append(twice)
            }
        }
        let owner = Int.random(in: 0..<10, using: &g) == 0 ? "n2" : "n1"
        return .batchResults(.init(endpoint: id, owner: owner, incarnation: 1, results: out))
    }

    /// Plants two pending calls of ep_a: one as an older build stored it (JSON), and one whose
    /// event type is not valid UTF-8: a retirement decodes and encodes both again. Their sequences.
    @discardableResult
    static func plantOlderCalls(_ pair: Pair, now: Int64) throws -> [UInt64] {
        var old = WebhookCall(endpoint: "ep_a", sequence: WebhookOutbox.sequence(index: pair.index, ordinal: 9),
                              webhookID: "msg_old", eventType: "accepted", createdAt: now, payload: "{\"a\":1}")
        old.nextAttemptAt = now
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try pair.plant(RegistryKeys.webhookPending("ep_a", old.sequence), Array(try encoder.encode(RegistryRecord.webhookCall(old))))
        old.sequence += 1
        var bytes = old.binaryEncoded()
        bytes[bytes.firstRange(of: Array("accepted".utf8))!.lowerBound] = 0xC3
        try pair.plant(RegistryKeys.webhookPending("ep_a", old.sequence), bytes)
        return [old.sequence - 1, old.sequence]
    }

    @Test("Seeded random events, batch leases and batch results (delivered, retry, gone, exhausted, stale, repeated) store the same records, events and counts as record by record and as the code before typed batch reads (golden digests), with calls of older builds (JSON), strings that are not UTF-8, and a damaged record")
    func sameBytesAsRecordByRecord() throws {
        for seed in [1, 2, 3] as [UInt64] {
            var g = Seeded(seed: seed)
            let pair = try Pair()
            for (id, tenant, events) in [("ep_a", "acme", [String]()), ("ep_b", "*", ["accepted", "bounced"])] {
                try pair.commit(.registry(.webhook(.create(WebhookEndpoint(id: id, tenant: tenant, url: "https://h.example/",
                                                                           events: events, secret: WebhookDispatchStoreTests.secret,
                                                                           createdAt: Self.t0)))))
            }
            var now = Self.t0
            var leases = 0, applied = 0, damaged = false
            for round in 0..<60 {
                now += Int64.random(in: 0...2000, using: &g)
                for i in 0..<Int.random(in: 0...4, using: &g) {
                    try pair.commit(makeEnqueue("Q\(seed)-\(round)-\(i)", at: now, tenant: Bool.random(using: &g) ? "acme" : "other"))
                }
                if round == 5 { try Self.plantOlderCalls(pair, now: now) }
                if round >= 40, !damaged, let b = try pair.fast.webhookBatches("ep_b").first, let seq = b.sequences.last {
                    // A damaged pending call: a lease naming it and results for its batch are
                    // refused the same way; then it is put back.
                    let key = RegistryKeys.webhookPending("ep_b", seq)
                    let bytes = try #require(try WebhookBatchRecordStoreTests.raw(pair.fast, key))
                    try pair.plant(key, Array(bytes.dropLast()))
                    let lease = WebhookCommand.leaseBatches(.init(endpoint: "ep_b", owner: "n1", incarnation: 1, issuedAt: now,
                                                                  expiresAt: now + 10, formed: [], fresh: [seq], sizes: [1], array: true))
                    let results = WebhookCommand.batchResults(.init(endpoint: "ep_b", owner: b.lease?.owner ?? "n1", incarnation: 1, results: [
                        .init(first: b.first, sequences: b.sequences, attempt: Self.attempt(&g, at: now), verdict: .delivered)]))
                    for command in [lease, results] {
                        let (x, y) = try pair.apply(.webhook(command))
                        #expect(x == y && x.contains("corrupt"), "\(x) vs \(y)")
                    }
                    try pair.plant(key, bytes)
                    damaged = true
                }
                for id in ["ep_a", "ep_b"] {
                    let command: WebhookCommand = Bool.random(using: &g) ? try Self.lease(pair, id, &g, now: now)
                        : try Self.results(pair, id, &g, now: now)
                    let (a, b) = try pair.apply(.webhook(command))
                    #expect(a == b, "seed \(seed) round \(round): \(a) vs \(b)")
                    if case .leaseBatches = command { leases += 1 }
                    if a.hasPrefix("success") { applied += 1 }
                }
                try pair.expectSame("seed \(seed) round \(round)")
            }
            // Then every batch and every call not passed over is leased and delivered.
            now += 3_600_000
            let planted = try Self.plantOlderCalls(pair, now: now)
            for id in ["ep_a", "ep_b"] {
                let batches = try pair.fast.webhookBatches(id)
                let mark = try pair.fast.webhookBatchMark(id) ?? 0
                let fresh = try pair.fast.pendingWebhookCalls(id, limit: 10_000).map(\.sequence).filter { $0 > mark }
                let (a, b) = try pair.apply(.webhook(.leaseBatches(.init(
                    endpoint: id, owner: "n1", incarnation: 1, issuedAt: now, expiresAt: now + 1000, formed: batches.map(\.first),
                    fresh: fresh, sizes: fresh.map { _ in 1 }, array: true))))
                #expect(a == b)
                let leased = try pair.fast.webhookBatches(id)
                let (c, d) = try pair.apply(.webhook(.batchResults(.init(endpoint: id, owner: "n1", incarnation: 1, results: leased.map {
                    var a = Self.attempt(&g, at: now)
                    a.attempt = $0.lease?.attempt ?? 1
                    return .init(first: $0.first, sequences: $0.sequences, attempt: a, verdict: .delivered)
                }))))
                #expect(c == d)
                try pair.expectSame("seed \(seed) drained \(id)")
            }
            #expect(leases > 20 && applied > 30 && damaged, "seed \(seed): \(leases) leases, \(applied) applied")
            let finished = try pair.fast.finishedWebhookCalls("ep_a", limit: 10_000)
            #expect(finished.contains { $0.status == .failed } && finished.contains { $0.status == .delivered }
                    && finished.contains { $0.batch != nil } && finished.contains { $0.batch == nil })
            #expect(Set(planted).isSubset(of: finished.map(\.sequence)), "the older build's calls were retired too")
            let digest = try Self.digest(pair)
            #expect(digest.value == Self.golden[seed], "seed \(seed): digest \(digest.value) (\(digest.bytes) bytes)")
        }
    }

    @Test("A pending call whose finished record is already there (delivered or failed, e.g. planted by an older build) is retired over it with the same bytes and counts as record by record")
    func retireOverFinishedRecord() throws {
        let pair = try Pair()
        try pair.commit(.registry(.webhook(.create(WebhookEndpoint(id: "ep_a", tenant: "acme", url: "https://h.example/",
                                                                   events: [], secret: WebhookDispatchStoreTests.secret,
                                                                   createdAt: Self.t0)))))
        for i in 0..<6 { try pair.commit(makeEnqueue("Q\(i)", at: Self.t0)) }
        let calls = try pair.fast.pendingWebhookCalls("ep_a", limit: 100)
        #expect(calls.count >= 6)
        // Finished records under the keys of some pending calls: one delivered, one failed.
        for (call, status) in zip(calls.prefix(4), [WebhookCall.Status.delivered, .failed, .delivered, .failed]) {
            var done = call
            done.status = status
            done.attempts = 3
            try pair.plant(RegistryKeys.webhookDone("ep_a", call.sequence), done.binaryEncoded())
        }
        try pair.expectSame("planted")
        let now = Self.t0 + 1000
        let seqs = calls.map(\.sequence)
        let (a, b) = try pair.apply(.webhook(.leaseBatches(.init(endpoint: "ep_a", owner: "n1", incarnation: 1, issuedAt: now,
                                                                 expiresAt: now + 1000, formed: [], fresh: seqs,
                                                                 sizes: [3, UInt32(seqs.count - 3)], array: true))))
        #expect(a == b && a.hasPrefix("success"), "\(a) vs \(b)")
        let batches = try pair.fast.webhookBatches("ep_a")
        #expect(batches.count == 2)
        for (batch, verdict) in zip(batches, [WebhookCommand.Verdict.delivered, .exhausted]) {
            let attempt = WebhookCall.Attempt(attempt: 1, at: now, status: 200, latencyMillis: 5, response: "ok", node: "n1")
            let (c, d) = try pair.apply(.webhook(.batchResults(.init(endpoint: "ep_a", owner: "n1", incarnation: 1, results: [
                .init(first: batch.first, sequences: batch.sequences, attempt: attempt, verdict: verdict)]))))
            #expect(c == d && c.hasPrefix("success"), "\(c) vs \(d)")
            try pair.expectSame("after \(verdict)")
        }
        let n = pair.fast.webhookTally.counts("ep_a")
        #expect(n.pending == 0 && n.delivered + n.failed == seqs.count, "\(n)")
    }

    @Test("Damaged batch records: a batch record naming another endpoint retires none of that endpoint's calls (as before typed reads); a truncated batch record, a truncated batch mark and a record that is not a call under a call's key are refused or passed over the same way on both paths, and nothing changes")
    func damagedBatchRecords() throws {
        let pair = try Pair()
        for id in ["ep_a", "ep_b"] {
            try pair.commit(.registry(.webhook(.create(WebhookEndpoint(id: id, tenant: "*", url: "https://h.example/",
                                                                       events: [], secret: WebhookDispatchStoreTests.secret,
                                                                       createdAt: Self.t0)))))
        }
        for i in 0..<3 { try pair.commit(makeEnqueue("D\(i)", at: Self.t0)) }
        let seqs = try pair.fast.pendingWebhookCalls("ep_a", limit: 100).map(\.sequence)
        let seqsB = try pair.fast.pendingWebhookCalls("ep_b", limit: 100).map(\.sequence)
        #expect(!seqs.isEmpty && seqs == seqsB)
        let now = Self.t0 + 1000
        let (a, b) = try pair.apply(.webhook(.leaseBatches(.init(endpoint: "ep_a", owner: "n1", incarnation: 1, issuedAt: now,
                                                                 expiresAt: now + 1000, formed: [], fresh: seqs,
                                                                 sizes: [UInt32(seqs.count)], array: true))))
        #expect(a == b && a.hasPrefix("success"), "\(a) vs \(b)")
        let batch = try #require(try pair.fast.webhookBatches("ep_a").first)
        let batchKey = RegistryKeys.webhookBatch("ep_a", batch.first)
        let batchBytes = try #require(try WebhookBatchRecordStoreTests.raw(pair.fast, batchKey))
        let attempt = WebhookCall.Attempt(attempt: 1, at: now, status: 200, latencyMillis: 5, response: "ok", node: "n1")
        let delivered = WebhookCommand.batchResults(.init(endpoint: "ep_a", owner: "n1", incarnation: 1, results: [
            .init(first: batch.first, sequences: batch.sequences, attempt: attempt, verdict: .delivered)]))
        let lease = WebhookCommand.leaseBatches(.init(endpoint: "ep_a", owner: "n2", incarnation: 1, issuedAt: now + 5000,
                                                      expiresAt: now + 6000, formed: [batch.first], fresh: [], sizes: [],
                                                      array: true))

        // A damaged batch record (leases and results read it), then a damaged mark (leases read
        // it): refused as corrupt by both paths, nothing written.
        let markKey = RegistryKeys.webhookMark("ep_a")
        let markBytes = try #require(try WebhookBatchRecordStoreTests.raw(pair.fast, markKey))
        // A new group starting at the damaged batch's first call reads that record too.
        let groupAtBatch = WebhookCommand.leaseBatches(.init(endpoint: "ep_a", owner: "n2", incarnation: 1, issuedAt: now + 5000,
                                                             expiresAt: now + 6000, formed: [], fresh: [batch.first], sizes: [1],
                                                             array: true))
        for (key, bytes, commands) in [(batchKey, batchBytes, [lease, groupAtBatch, delivered]), (markKey, markBytes, [lease])] {
            try pair.plant(key, Array(bytes.prefix(3)))
            let before = try Pair.contents(pair.fast)
            for command in commands {
                let (x, y) = try pair.apply(.webhook(command))
                #expect(x == y && x.contains("corrupt"), "\(key): \(x) vs \(y)")
            }
            let after = try Pair.contents(pair.fast)
            #expect(after == before, "\(key): a refused command wrote")
            try pair.plant(key, bytes)
        }

        // A record that is not a call under the key of ep_a's first call: both paths agree.
        let callKey = RegistryKeys.webhookPending("ep_a", seqs[0])
        let callBytes = try #require(try WebhookBatchRecordStoreTests.raw(pair.fast, callKey))
        try pair.plant(callKey, RegistryRecord.webhookMark(7).encoded())
        for command in [WebhookCommand.leaseBatches(.init(endpoint: "ep_a", owner: "n1", incarnation: 1, issuedAt: now,
                                                          expiresAt: now + 1000, formed: [], fresh: [seqs[0]], sizes: [1],
                                                          array: true)), delivered] {
            let (x, y) = try pair.apply(.webhook(command))
            #expect(x == y, "\(x) vs \(y)")
        }
        try pair.expectSame("not a call")
        try pair.plant(callKey, callBytes)

        // The batch record of ep_a names ep_b: its results retire none of ep_b's calls.
        var foreign = batch
        foreign.endpoint = "ep_b"
        try pair.plant(batchKey, RegistryRecord.webhookBatch(foreign).encoded())
        let pendingB = pair.fast.webhookTally.counts("ep_b").pending
        let (x, y) = try pair.apply(.webhook(delivered))
        #expect(x == y, "\(x) vs \(y)")
        let stillPending = try pair.fast.pendingWebhookCalls("ep_b", limit: 100).map(\.sequence)
        let finishedB = try pair.fast.finishedWebhookCalls("ep_b", limit: 100)
        #expect(stillPending == seqs)
        #expect(finishedB.isEmpty)
        #expect(pair.fast.webhookTally.counts("ep_b").pending == pendingB)
        try pair.expectSame("foreign batch")
    }

    /// The registry records, events and tally of `fast` and every result, in key order.
    static func digest(_ pair: Pair) throws -> ByteDigest {
        var d = ByteDigest()
        let contents = try Pair.contents(pair.fast)
        for name in ["registry", "events", "tally/ep_a", "tally/ep_b"] {
            d.add(Array(name.utf8))
            for (k, v) in (contents[name] ?? [:]).sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                d.add(k)
                d.add(v)
            }
        }
        for r in pair.results { d.add(Array(r.utf8)) }
        return d
    }

    /// `digest` of each seed's run, taken from the code before the batch commands read typed
    /// records (commit 4679896): the faster reads must store the same bytes and give the same results.
    static let golden: [UInt64: UInt64] = [1: 225_453_739_091_578_410, 2: 7_365_521_237_214_440_117, 3: 3_486_306_917_756_931_219]
}
