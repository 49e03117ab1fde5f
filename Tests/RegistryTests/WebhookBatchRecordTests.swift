import Foundation
import Testing
@testable import Registry

/// Batch records (log entry format 5): a lease writes one record per batch and none per call; a
/// result updates or retires the batch with one record; a takeover after the lease expired sends
/// the same batch under the same id; a call joins at most one batch.
@Suite("Webhook batch records")
struct WebhookBatchRecordTests {
    typealias Store = WebhookMachineTests.Store

    static func seq(_ index: UInt64) -> UInt64 { WebhookOutbox.sequence(index: index, ordinal: 0) }

    static func lease(formed: [UInt64] = [], fresh: [UInt64] = [], sizes: [UInt32] = [], owner: String = "n1",
                      at: Int64, until: Int64? = nil, array: Bool = true) -> WebhookCommand {
        .leaseBatches(.init(endpoint: "ep_1", owner: owner, incarnation: 1, issuedAt: at, expiresAt: until ?? at + 1000,
                            formed: formed, fresh: fresh, sizes: sizes, array: array))
    }

    static func result(_ first: UInt64, _ seqs: [UInt64], owner: String = "n1", attempt: UInt32, at: Int64, status: Int,
                       verdict: WebhookCommand.Verdict) -> WebhookCommand {
        .batchResults(.init(endpoint: "ep_1", owner: owner, incarnation: 1, results: [
            .init(first: first, sequences: seqs, attempt: WebhookMachineTests.attempt(attempt, at: at, status: status), verdict: verdict),
        ]))
    }

    /// The keys a command writes (or deletes), by their first path part (`hookcall`, `hookbatch`…).
    static func writes(_ s: Store, _ w: WebhookCommand) -> [String: Int] {
        let command = RegistryCommand.webhook(w)
        var current: [String: RegistryRecord] = [:]
        for k in command.keys { current[k] = s.records[k] }
        var out: [String: Int] = [:]
        for (k, _) in RegistryMachine.apply(command, current: current).allWrites(current: current) {
            out[String(k.prefix { $0 != "/" }), default: 0] += 1
        }
        return out
    }

    static func outbox(_ n: UInt64) -> Store {
        var s = Store()
        _ = s.apply(.create(WebhookMachineTests.endpoint()))
        for i in 1...n { s.record(index: i, at: 0) }
        return s
    }

    func batch(_ s: Store, _ first: UInt64) -> WebhookBatch? { s.records[RegistryKeys.webhookBatch("ep_1", first)]?.webhookBatch }

    @Test("A batch lease writes one record per batch and the mark, no call; a retry rewrites only the batch; delivery retires it and moves each call once")
    func writesPerBatch() {
        var s = Self.outbox(5)
        let seqs = (1...5).map { Self.seq($0) }
        let lease = Self.lease(fresh: seqs, sizes: [3, 2], at: 10)
        #expect(Self.writes(s, lease) == ["hookbatch": 2, "hookmark": 1], "no call record written by a lease")
        let before = seqs.map { s.pending($0) }
        #expect(s.apply(lease) == nil)
        #expect(seqs.map { s.pending($0) } == before, "the calls' records are as their events wrote them")
        let first = batch(s, seqs[0]), second = batch(s, seqs[3])
        #expect(first?.sequences == Array(seqs[0..<3]) && second?.sequences == Array(seqs[3..<5]))
        #expect(first?.id == WebhookOutbox.batchID(seqs[0..<3].map { s.pending($0)! }), "the id of a per-call batch of the same calls")
        #expect(first?.lease?.owner == "n1" && first?.lease?.attempt == 1)
        #expect(s.records[RegistryKeys.webhookMark("ep_1")]?.webhookMark == seqs[4])

        let retry = Self.result(seqs[0], Array(seqs[0..<3]), attempt: 1, at: 20, status: 503, verdict: .retry(at: 5_000))
        #expect(Self.writes(s, retry) == ["webhook": 1, "hookbatch": 1])
        #expect(s.apply(retry) == nil)
        #expect(batch(s, seqs[0])?.attempts == 1 && batch(s, seqs[0])?.lease == nil && batch(s, seqs[0])?.nextAttemptAt == 5_000)

        let ok = Self.result(seqs[3], Array(seqs[3..<5]), attempt: 1, at: 30, status: 200, verdict: .delivered)
        #expect(Self.writes(s, ok) == ["webhook": 1, "hookbatch": 1, "hookcall": 2, "hookdone": 2])
        #expect(s.apply(ok) == nil)
        #expect(batch(s, seqs[3]) == nil)
        #expect(seqs[3..<5].allSatisfy { s.pending($0) == nil && s.done($0)?.status == .delivered && s.done($0)?.attempts == 1 })
        #expect(s.done(seqs[3])?.batch == WebhookCall.Batch(id: second!.id, size: 2), "the attempts view keeps the POST's id")
        #expect(s.done(seqs[3])?.history.map(\.status) == [200])
    }

    @Test("A takeover after the lease expired sends the same batch (same id and calls) under its lease; the old owner's late result is ignored")
    func takeoverKeepsTheBatch() {
        var s = Self.outbox(4)
        let seqs = (1...4).map { Self.seq($0) }
        #expect(s.apply(Self.lease(fresh: seqs, sizes: [4], at: 10, until: 100)) == nil)
        let formed = batch(s, seqs[0])!
        #expect(s.apply(Self.lease(formed: [seqs[0]], owner: "n2", at: 50)) != nil, "leased until 100")
        #expect(s.apply(Self.lease(fresh: seqs, sizes: [2, 2], owner: "n2", at: 200)) != nil, "its calls cannot form another batch")
        #expect(s.apply(Self.lease(formed: [seqs[0]], owner: "n2", at: 200)) == nil)
        let taken = batch(s, seqs[0])!
        #expect(taken.id == formed.id && taken.sequences == formed.sequences)
        #expect(taken.lease?.owner == "n2" && taken.lease?.attempt == 1, "no result was recorded: still the first attempt")
        #expect(s.apply(Self.result(seqs[0], seqs, owner: "n1", attempt: 1, at: 210, status: 200, verdict: .delivered)) != nil,
                "stale: the lease moved on")
        #expect(s.apply(Self.result(seqs[0], Array(seqs.prefix(3)), owner: "n2", attempt: 1, at: 210, status: 200,
                                    verdict: .delivered)) != nil, "not the batch's calls")
        #expect(s.apply(Self.result(seqs[0], seqs, owner: "n2", attempt: 1, at: 220, status: 200, verdict: .delivered)) == nil)
        #expect(seqs.allSatisfy { s.done($0)?.attempts == 1 && s.done($0)?.batch?.id == formed.id })
    }

    @Test("A call joins at most one batch: only calls above the mark, never leased, attempted or batched per call, form new batches")
    func freshOnlyAboveTheMark() {
        var s = Self.outbox(6)
        let seqs = (1...6).map { Self.seq($0) }
        #expect(s.apply(Self.lease(fresh: [seqs[1], seqs[2]], sizes: [2], at: 10)) == nil)
        #expect(s.apply(Self.lease(fresh: [seqs[0]], sizes: [1], at: 10)) != nil, "below the mark (left out of a batch)")
        // A call leased by a per-call claim (a build before format 5) is not fresh.
        #expect(s.apply(.claim(.init(endpoint: "ep_1", sequences: [seqs[3]], owner: "old", incarnation: 1, issuedAt: 10,
                                     expiresAt: 20))) == nil)
        #expect(s.apply(Self.lease(fresh: [seqs[3], seqs[4]], sizes: [2], at: 30)) != nil)
        #expect(s.apply(Self.lease(fresh: [seqs[5], seqs[4]], sizes: [2], at: 30)) != nil, "not ascending")
        #expect(s.apply(Self.lease(fresh: [seqs[4], seqs[5]], sizes: [1, 1], at: 30, array: false)) == nil)
        #expect(batch(s, seqs[4])?.id == "msg_5_0" && batch(s, seqs[4])?.array == false, "alone: the call's own id, an object body")
        #expect(s.apply(Self.lease(fresh: [seqs[4]], sizes: [2], at: 40)) != nil, "sizes that do not add up")
    }

    @Test("Batch records, marks and both batch commands survive their binary forms; truncated ones are refused")
    func codecs() throws {
        var b = WebhookBatch(endpoint: "ep_1", sequences: [3, 9], id: "batch_3_0_2_00ff", array: true, nextAttemptAt: -5)
        b.lease = .init(owner: "n2", incarnation: 7, attempt: 2, expiresAt: 99)
        b.history = [WebhookMachineTests.attempt(1, at: 4, status: 500)]
        let bytes = RegistryRecord.webhookBatch(b).encoded()
        #expect(try RegistryRecord(decoding: bytes) == .webhookBatch(b))
        #expect(throws: (any Error).self) { try RegistryRecord(decoding: bytes.dropLast()) }
        #expect(try RegistryRecord(decoding: RegistryRecord.webhookMark(1 << 40).encoded()) == .webhookMark(1 << 40))
        let commands: [WebhookCommand] = [
            Self.lease(formed: [1, 2], fresh: [5, 6, 7], sizes: [2, 1], at: -1, array: false),
            Self.result(5, [5, 6], attempt: 3, at: 8, status: 429, verdict: .retry(at: 77)),
            Self.result(5, [5], attempt: 1, at: 8, status: 200, verdict: .delivered),
        ]
        for c in commands {
            let bytes = try #require(c.binaryEncoded())
            #expect(try WebhookCommand(binary: bytes) == c)
            #expect(try RegistryCommand(decoding: RegistryCommand.webhook(c).encoded(binary: true)) == .webhook(c))
            #expect(throws: WebhookCallDecodingError.self) { try WebhookCommand(binary: bytes.dropLast()) }
        }
    }
}

extension WebhookBatchRecordTests {
    @Test("Records written per event for 100 events in 4 POSTs, delivered at the second try: per-call commands vs batch records")
    func writesPerEvent() {
        let seqs = (1...100).map { Self.seq($0) }
        let groups = stride(from: 0, to: 100, by: 25).map { Array(seqs[$0..<($0 + 25)]) }
        // Per-call commands (log entry formats 3 and 4): every lease and every result rewrites every call.
        var old = Self.outbox(100), oldWrites = 0, oldBytes = 0
        for (attempt, at) in [(UInt32(1), Int64(10)), (2, 2_000)] {
            let claim = WebhookCommand.claim(.init(endpoint: "ep_1", sequences: seqs, owner: "n1", incarnation: 1, issuedAt: at,
                                                   expiresAt: at + 1000, batches: groups.map { _ in 25 }))
            oldWrites += Self.writes(old, claim).values.reduce(0, +)
            oldBytes += RegistryCommand.webhook(claim).encoded(binary: true).count
            #expect(old.apply(claim) == nil)
            let verdict: WebhookCommand.Verdict = attempt == 1 ? .retry(at: 1_000) : .delivered
            let results = WebhookCommand.results(.init(endpoint: "ep_1", owner: "n1", incarnation: 1, results: seqs.map {
                .init(sequence: $0, attempt: WebhookMachineTests.attempt(attempt, at: at + 5, status: attempt == 1 ? 503 : 200),
                      verdict: verdict)
            }))
            oldWrites += Self.writes(old, results).values.reduce(0, +)
            oldBytes += RegistryCommand.webhook(results).encoded(binary: true).count
            #expect(old.apply(results) == nil)
        }
        // Batch records (log entry format 5).
        var new = Self.outbox(100), newWrites = 0, newBytes = 0
        for (attempt, at) in [(UInt32(1), Int64(10)), (2, 2_000)] {
            let lease = attempt == 1 ? Self.lease(fresh: seqs, sizes: [25, 25, 25, 25], at: at)
                : Self.lease(formed: groups.map { $0[0] }, at: at)
            newWrites += Self.writes(new, lease).values.reduce(0, +)
            newBytes += RegistryCommand.webhook(lease).encoded(binary: true).count
            #expect(new.apply(lease) == nil)
            let verdict: WebhookCommand.Verdict = attempt == 1 ? .retry(at: 1_000) : .delivered
            let results = WebhookCommand.batchResults(.init(endpoint: "ep_1", owner: "n1", incarnation: 1, results: groups.map {
                .init(first: $0[0], sequences: $0, attempt: WebhookMachineTests.attempt(attempt, at: at + 5, status: attempt == 1 ? 503 : 200),
                      verdict: verdict)
            }))
            newWrites += Self.writes(new, results).values.reduce(0, +)
            newBytes += RegistryCommand.webhook(results).encoded(binary: true).count
            #expect(new.apply(results) == nil)
        }
        #expect(seqs.allSatisfy { old.done($0)?.status == .delivered && new.done($0)?.status == .delivered })
        // Old: 100 (lease) + 1 + 100 (retry) + 100 (lease) + 1 + 200 (move) = 502; new: 4 + 1 (mark) + 1 + 4 + 4 + 1 + 4 + 200 = 219.
        #expect(oldWrites == 502 && newWrites == 219, "old \(oldWrites), new \(newWrites)")
        // The log entries' webhook commands: results per batch instead of per call.
        #expect(newBytes * 3 < oldBytes, "old \(oldBytes) B, new \(newBytes) B")
    }
}
