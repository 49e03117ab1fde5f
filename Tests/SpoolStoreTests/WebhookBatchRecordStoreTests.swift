import Foundation
import Registry
import Testing
@testable import SpoolStore

/// Batch-record commands (log entry format 5) in log entries and in a real spool: version 5 only
/// for a cluster that reads it (a no-op below), and applied in LMDB with one record per batch.
@Suite("Webhook batch records in the spool")
struct WebhookBatchRecordStoreTests {
    static let lease = SpoolCommand.registry(.webhook(.leaseBatches(.init(
        endpoint: "ep_1", owner: "n1", incarnation: 4, issuedAt: 10, expiresAt: 20, formed: [], fresh: [1, 2], sizes: [2],
        array: true))))

    @Test("A batch lease or batch results entry is version 5; for a cluster below 5 it is a no-op entry (its calls go per call)")
    func versions() throws {
        #expect(SpoolCommand.formatVersion >= 5)
        let results = SpoolCommand.registry(.webhook(.batchResults(.init(endpoint: "ep_1", owner: "n1", incarnation: 4, results: [
            .init(first: 1, sequences: [1, 2], attempt: .init(attempt: 1, at: 11, status: 200, latencyMillis: 3, response: "ok",
                                                              node: "n1"), verdict: .delivered)]))))
        for command in [Self.lease, results] {
            let new = command.encoded(format: 5)
            #expect(new[0] == 5)
            #expect(try SpoolCommand(decoding: new) == command)
            for old in [4, 3, 1] as [UInt8] {
                #expect(command.encoded(format: old) == SpoolCommand.noOp.encoded(format: old))
                #expect(SpoolCommand.downgraded(new, to: old) == SpoolCommand.noOp.encoded(format: old))
            }
        }
    }
}

extension WebhookBatchRecordStoreTests {
    static func raw(_ store: SpoolStore, _ key: String) throws -> [UInt8]? {
        try store.read { txn in try txn.get(store.dbRegistry, Array(key.utf8)).map { Array($0) } }
    }

    @Test("In LMDB a batch lease leaves the calls' records byte for byte, writes one batch record and the mark; delivery moves each call once; deleting the endpoint removes both")
    func leaseAndRetireInTheSpool() async throws {
        let (dir, store, log) = try await WebhookDispatchStoreTests.outbox()
        defer { log.stop(); _ = dir }
        let t0 = WebhookDispatchStoreTests.t0
        for i in 0..<4 { _ = try await log.proposeAndWait(makeEnqueue("Q\(i)", at: t0 + Int64(i))).get() }
        let seqs = try store.pendingWebhookCalls("ep_a", limit: 100).map(\.sequence)
        #expect(seqs.count == 4)
        let before = try seqs.map { try Self.raw(store, RegistryKeys.webhookPending("ep_a", $0)) }
        let now = t0 + 100
        let lease = WebhookCommand.BatchLease(endpoint: "ep_a", owner: "n1", incarnation: 2, issuedAt: now, expiresAt: now + 1000,
                                              formed: [], fresh: seqs, sizes: [3, 1], array: true)
        _ = try await log.proposeAndWait(.registry(.webhook(.leaseBatches(lease)))).get()
        #expect(try seqs.map { try Self.raw(store, RegistryKeys.webhookPending("ep_a", $0)) } == before, "no call record rewritten")
        let batches = try store.webhookBatches("ep_a")
        #expect(batches.map(\.sequences) == [Array(seqs[0..<3]), [seqs[3]]])
        #expect(try store.webhookBatchMark("ep_a") == seqs[3])
        // The API view of pending calls shows the batch's lease and id.
        let shown = try store.pendingWebhookCalls("ep_a", limit: 100)
        #expect(shown.allSatisfy { $0.lease?.owner == "n1" } && shown[0].batch?.id == batches[0].id && shown[0].batch?.size == 3)
        #expect(try store.dueWebhookCalls("ep_a", now: now, skipping: Set(seqs), limit: 100).isEmpty)

        let attempt = WebhookCall.Attempt(attempt: 1, at: now + 5, status: 200, latencyMillis: 2, response: "", node: "n1")
        _ = try await log.proposeAndWait(.registry(.webhook(.batchResults(.init(endpoint: "ep_a", owner: "n1", incarnation: 2, results: [
            .init(first: seqs[0], sequences: Array(seqs[0..<3]), attempt: attempt, verdict: .delivered),
            .init(first: seqs[3], sequences: [seqs[3]], attempt: attempt, verdict: .retry(at: now + 60_000)),
        ]))))).get()
        #expect(try store.finishedWebhookCalls("ep_a", newestFirst: false, limit: 10).map(\.sequence) == Array(seqs[0..<3]))
        #expect(try store.pendingWebhookCalls("ep_a", limit: 10).map(\.sequence) == [seqs[3]])
        #expect(try store.webhookBatches("ep_a").map(\.first) == [seqs[3]], "the retried batch stays, the delivered one is gone")
        #expect(try store.webhookStats().endpoints.first?.delivered == 3)

        _ = try await log.proposeAndWait(.registry(.webhook(.delete(id: "ep_a", at: now + 10)))).get()
        #expect(try store.webhookBatches("ep_a").isEmpty && store.webhookBatchMark("ep_a") == nil)
    }
}

extension WebhookBatchRecordStoreTests {
    /// A spool with endpoint ep_a and the calls of eight events, by sequence.
    static func outboxOfEight() async throws -> (TempDirectory, SpoolStore, LocalLog, [UInt64]) {
        let (dir, store, log) = try await WebhookDispatchStoreTests.outbox()
        let t0 = WebhookDispatchStoreTests.t0
        for i in 0..<8 { _ = try await log.proposeAndWait(makeEnqueue("Q\(i)", at: t0 + Int64(i))).get() }
        return (dir, store, log, try store.pendingWebhookCalls("ep_a", limit: 100).map(\.sequence))
    }

    /// A batch lease of ep_a by n1 forming new batches of `sizes` from `fresh`, for a second.
    static func batchLease(_ fresh: [UInt64], sizes: [UInt32], at now: Int64) -> SpoolCommand {
        .registry(.webhook(.leaseBatches(.init(endpoint: "ep_a", owner: "n1", incarnation: 2, issuedAt: now, expiresAt: now + 1000,
                                               formed: [], fresh: fresh, sizes: sizes, array: true))))
    }

    @Test("In LMDB a per-call claim leases no call of a batch record: the spool finds the records covering the claim, including one that starts below it")
    func perCallClaimSkipsBatchRecordsInTheSpool() async throws {
        let (dir, store, log, seqs) = try await Self.outboxOfEight()
        defer { log.stop(); _ = dir }
        let t0 = WebhookDispatchStoreTests.t0
        #expect(seqs.count == 8)
        let now = t0 + 100
        _ = try await log.proposeAndWait(Self.batchLease(Array(seqs[1..<7]), sizes: [3, 3], at: now)).get()
        #expect(try store.webhookBatches("ep_a").map(\.first) == [seqs[1], seqs[4]])
        // Later, after the batch leases expired: a claim of one call inside the second record.
        let later = now + 5_000
        let inside = WebhookCommand.Claim(endpoint: "ep_a", sequences: [seqs[5]], owner: "n2", incarnation: 1, issuedAt: later,
                                          expiresAt: later + 1000)
        let refused = await log.proposeAndWait(.registry(.webhook(.claim(inside))))
        if case .success = refused { Issue.record("a claim of a call in a batch record only leased something") }
        let all = WebhookCommand.Claim(endpoint: "ep_a", sequences: seqs, owner: "n2", incarnation: 1, issuedAt: later,
                                       expiresAt: later + 1000)
        _ = try await log.proposeAndWait(.registry(.webhook(.claim(all)))).get()
        let leased = try seqs.filter { try store.webhookCall("ep_a", sequence: $0)?.lease?.owner == "n2" }
        #expect(leased == [seqs[0], seqs[7]])
    }
}

extension WebhookBatchRecordStoreTests {
    @Test("One read of an endpoint's due work leaves out every call in a batch record (with nothing skipped by the caller) and reads on until a batch formed per call is whole")
    func dueWorkLeavesRecordsAndGrows() async throws {
        let (dir, store, log, seqs) = try await Self.outboxOfEight()
        defer { log.stop(); _ = dir }
        let t0 = WebhookDispatchStoreTests.t0
        let now = t0 + 100
        // Calls 0-4: a batch formed per call (format 4); calls 5-6: a batch record (format 5).
        _ = try await log.proposeAndWait(.registry(.webhook(.claim(.init(
            endpoint: "ep_a", sequences: Array(seqs[0..<5]), owner: "n1", incarnation: 1, issuedAt: now, expiresAt: now + 1000,
            batches: [5]))))).get()
        _ = try await log.proposeAndWait(Self.batchLease(Array(seqs[5..<7]), sizes: [2], at: now)).get()
        let later = now + 5_000
        let all = try store.webhookDueWork("ep_a", now: later, skipping: [], limit: 100)
        #expect(all.batches.map(\.first) == [seqs[5]] && all.mark == seqs[6])
        #expect(all.due.map(\.sequence) == Array(seqs[0..<5]) + [seqs[7]], "no call of the batch record")
        let whole = try store.webhookDueWork("ep_a", now: later, skipping: [], limit: 1) { due in
            due.compactMap(\.batch).first.map { Int($0.size) - due.count }.flatMap { $0 > 0 ? $0 : nil }
        }
        #expect(whole.due.map(\.sequence) == Array(seqs[0..<5]), "the per-call batch read whole")
        #expect(try store.webhookDueWork("ep_a", now: later, skipping: [], limit: 1).due.count == 1, "without growing: the limit")
    }
}

extension WebhookBatchRecordStoreTests {
    @Test("A batch lease or batch results command is refused for proposal below log entry format 5 (instead of committing a no-op); other commands and format 5 pass")
    func batchCommandsGatedBelowFive() {
        let results = SpoolCommand.registry(.webhook(.batchResults(.init(endpoint: "ep_1", owner: "n1", incarnation: 4, results: [
            .init(first: 1, sequences: [1, 2], attempt: .init(attempt: 1, at: 11, status: 410, latencyMillis: 3, response: "gone",
                                                              node: "n1"), verdict: .gone)]))))
        for command in [Self.lease, results] {
            for format in [4, 3, 1] as [UInt8] {
                let problem = command.formatProblem(format: format)
                #expect(problem?.context == SpoolCommand.formatGateContext && problem?.code == .unavailable)
            }
            #expect(command.formatProblem(format: 5) == nil)
        }
        let claim = SpoolCommand.registry(.webhook(.claim(.init(endpoint: "ep_1", sequences: [1], owner: "n1", incarnation: 4,
                                                                issuedAt: 1, expiresAt: 2))))
        #expect(claim.formatProblem(format: 1) == nil && SpoolCommand.noOp.formatProblem(format: 1) == nil)
    }
}
