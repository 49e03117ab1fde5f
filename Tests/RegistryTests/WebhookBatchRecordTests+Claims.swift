import Foundation
import Testing
@testable import Registry

extension WebhookBatchRecordTests {
    /// Applies `w` to `s` with the endpoint's batch records in `current` as well, as the spool hands
    /// them to a per-call claim (`SpoolStore.batchRecordsCovering`); nil, or the rejection.
    static func applyWithRecords(_ s: inout Store, _ w: WebhookCommand) -> String? {
        let command = RegistryCommand.webhook(w)
        var current: [String: RegistryRecord] = [:]
        for k in command.keys { current[k] = s.records[k] }
        for (k, r) in s.records where k.hasPrefix(RegistryKeys.webhookBatchPrefix("ep_1")) { current[k] = r }
        let t = RegistryMachine.apply(command, current: current)
        if let r = t.rejection { return r }
        for (k, r) in t.allWrites(current: current) { s.records[k] = r }
        return nil
    }

    @Test("A per-call claim (any log entry format) leaves calls in a batch record unleased: alone, in a format 4 batch, or all of them")
    func perCallClaimSkipsBatchRecords() {
        var s = Self.outbox(6)
        let seqs = (1...6).map { Self.seq($0) }
        // Format 5 leases calls 2-4 as one batch record; its POST times out: retry in 60 s.
        #expect(s.apply(Self.lease(fresh: Array(seqs[1..<4]), sizes: [3], at: 10)) == nil)
        #expect(s.apply(Self.result(seqs[1], Array(seqs[1..<4]), attempt: 1, at: 20, status: 0, verdict: .retry(at: 60_020))) == nil)
        let record = batch(s, seqs[1])
        // The format drops below 5: the per-call path claims every due call it reads.
        let claim = WebhookCommand.claim(.init(endpoint: "ep_1", sequences: seqs, owner: "n2", incarnation: 1, issuedAt: 2_000,
                                               expiresAt: 3_000))
        #expect(Self.applyWithRecords(&s, claim) == nil)
        #expect([0, 4, 5].allSatisfy { s.pending(seqs[$0])?.lease?.owner == "n2" }, "calls outside the record are leased")
        #expect((1..<4).allSatisfy { s.pending(seqs[$0])?.lease == nil }, "calls in the record are not")
        #expect(batch(s, seqs[1]) == record, "the record keeps its backoff and attempts")
        // A claim of a call in the middle of the record only, alone or in a format 4 batch: nothing to lease.
        let middle = WebhookCommand.claim(.init(endpoint: "ep_1", sequences: [seqs[2]], owner: "n2", incarnation: 1,
                                                issuedAt: 4_000, expiresAt: 5_000))
        #expect(Self.applyWithRecords(&s, middle) != nil)
        let formed = WebhookCommand.claim(.init(endpoint: "ep_1", sequences: Array(seqs[1..<4]), owner: "n2", incarnation: 1,
                                                issuedAt: 4_000, expiresAt: 5_000, batches: [3]))
        #expect(Self.applyWithRecords(&s, formed) != nil)
        #expect((1..<4).allSatisfy { s.pending(seqs[$0])?.lease == nil && s.pending(seqs[$0])?.batch == nil })
    }
}
