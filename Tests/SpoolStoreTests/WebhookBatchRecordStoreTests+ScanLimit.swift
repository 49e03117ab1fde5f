import Foundation
import Registry
import Testing
@testable import SpoolStore

extension WebhookBatchRecordStoreTests {
    @Test("The due read's scan limit counts only calls it looks at: calls held in batch records (or in flight) ahead of new calls do not use it up, so the new calls are found")
    func scanLimitSkipsBatchRecordCalls() async throws {
        let (dir, store, log, seqs) = try await Self.outboxOfEight()
        defer { log.stop(); _ = dir }
        let t0 = WebhookDispatchStoreTests.t0
        let now = t0 + 100
        // Calls 0-5 in two batch records (leased now, expired later); calls 6 and 7 are new.
        _ = try await log.proposeAndWait(Self.batchLease(Array(seqs[0..<6]), sizes: [3, 3], at: now)).get()
        let later = now + 5_000
        // A scan of 4 (standing in for 4,096) with six batch-record calls in front of the new ones.
        let work = try store.webhookDueWork("ep_a", now: later, skipping: [], limit: 100, scan: 4)
        #expect(work.batches.map(\.first) == [seqs[0], seqs[3]])
        #expect(work.due.map(\.sequence) == [seqs[6], seqs[7]], "the new calls behind the batch records")
        // Calls the caller has in flight are left out the same way.
        let due = try store.dueWebhookCalls("ep_a", now: later, skipping: Set(seqs[0..<6]), limit: 100, scan: 1)
        #expect(due.map(\.sequence) == [seqs[6]], "one call looked at: the first one not skipped")
    }
}
