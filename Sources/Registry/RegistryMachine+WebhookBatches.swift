extension RegistryMachine {
    /// Applies a batch lease (log entry format 5): formed batches are leased as they are; new ones
    /// are formed from calls never leased that lie above the endpoint's batch mark, and the mark
    /// moves past them, so a call joins at most one batch record. The calls' own records are not
    /// written, and only their header fields are read (`reads`: the records `l` names, as
    /// `WebhookBatchReads`). Pure; any thread.
    public static func applyBatchLease(_ l: WebhookCommand.BatchLease, reads: WebhookBatchReads) -> Transition {
        let id = l.endpoint
        guard reads.endpoint != nil else { return .rejected("no webhook \(id)") }
        guard l.expiresAt > l.issuedAt else { return .rejected("lease must expire after it is issued") }
        guard let groups = l.freshGroups, l.array || l.sizes.allSatisfy({ $0 == 1 }) else {
            return .rejected("bad batch sizes for webhook \(id)")
        }
        var t = Transition()
        for first in l.formed {
            let key = RegistryKeys.webhookBatch(id, first)
            guard var b = reads.batches[first], b.isDue(at: l.issuedAt) else { continue }
            b.lease = WebhookCall.Lease(owner: l.owner, incarnation: l.incarnation, attempt: b.attempts &+ 1, expiresAt: l.expiresAt)
            t.writes.append((key, .webhookBatch(b)))
        }
        let mark = reads.mark
        var newMark = mark
        groups: for group in groups {
            var calls: [WebhookBatchReads.CallHead] = []
            calls.reserveCapacity(group.count)
            for seq in group {
                // Ascending, above the mark, pending, never leased nor attempted nor batched, due.
                guard newMark.map({ seq > $0 }) ?? true, calls.last.map({ seq > $0.sequence }) ?? true,
                      let call = reads.calls[seq], call.status == .pending,
                      call.attempts == 0, call.lease == nil, call.batch == nil, call.nextAttemptAt <= l.issuedAt else { continue groups }
                calls.append(call)
            }
            // `batchID` reads the calls' sequences and the first one's id only.
            let batchID = l.array && calls.count > 1
                ? WebhookOutbox.batchID(calls.map {
                    WebhookCall(endpoint: id, sequence: $0.sequence, webhookID: $0.webhookID, eventType: "", createdAt: 0, payload: "")
                })
                : calls[0].webhookID
            var b = WebhookBatch(endpoint: id, sequences: calls.map(\.sequence), id: batchID, array: l.array,
                                 nextAttemptAt: l.issuedAt)
            b.lease = WebhookCall.Lease(owner: l.owner, incarnation: l.incarnation, attempt: 1, expiresAt: l.expiresAt)
            t.writes.append((RegistryKeys.webhookBatch(id, b.first), .webhookBatch(b)))
            newMark = calls.last!.sequence
        }
        guard !t.writes.isEmpty else { return .rejected("no batch of webhook \(id) is due and free") }
        if let newMark, newMark != mark { t.writes.append((RegistryKeys.webhookMark(id), .webhookMark(newMark))) }
        return t
    }

    /// Applies batch results (log entry format 5): a result under the batch's current lease
    /// updates the batch record (a retry, a 410), or retires it (delivered, or the schedule used
    /// up): its calls move to the finished calls with the batch's attempts and history
    /// (`Transition.retirements`). Stale results (the lease moved on, or the calls differ) are
    /// ignored. Looks only at which calls are pending (`reads`: the records `r` names, as
    /// `WebhookBatchReads`). Pure; any thread.
    public static func applyBatchResults(_ r: WebhookCommand.BatchResults, reads: WebhookBatchReads) -> Transition {
        let id = r.endpoint
        guard var e = reads.endpoint else { return .rejected("no webhook \(id)") }
        var t = Transition()
        let wasFailing = e.failing, wasDisabled = e.disabled
        var recorded = 0
        for result in r.results {
            guard var b = reads.batches[result.first], b.sequences == result.sequences, let lease = b.lease,
                  lease.owner == r.owner, lease.incarnation == r.incarnation, lease.attempt == result.attempt.attempt else { continue }
            let key = RegistryKeys.webhookBatch(id, result.first)
            recorded += 1
            b.lease = nil
            b.attempts = lease.attempt
            b.history.append(result.attempt)
            if b.history.count > WebhookCall.maxHistory { b.history.removeFirst(b.history.count - WebhookCall.maxHistory) }
            note(result.verdict, of: result.attempt, call: b.id, on: &e)
            switch result.verdict {
            case .delivered:
                t.writes.append((key, nil))
                retire(b, of: id, status: .delivered, calls: reads.calls, into: &t)
            case .retry(let at):
                b.nextAttemptAt = at
                t.writes.append((key, .webhookBatch(b)))
            case .gone:
                // The batch stays: a resume sends it.
                b.nextAttemptAt = result.attempt.at
                t.writes.append((key, .webhookBatch(b)))
            case .exhausted:
                t.writes.append((key, nil))
                retire(b, of: id, status: .failed, calls: reads.calls, into: &t)
            }
        }
        guard recorded > 0 else { return .rejected("stale results for webhook \(id)") }
        let at = r.results.map(\.attempt.at).max() ?? 0
        if e.disabled && !wasDisabled {
            t.notices.append(Notice(kind: .webhookDisabled, domain: id, tenant: e.tenant, reason: e.statusReason, at: at))
        } else if e.failing && !wasFailing {
            t.notices.append(Notice(kind: .webhookFailing, domain: id, tenant: e.tenant, reason: e.statusReason, at: at))
        }
        t.writes.insert((RegistryKeys.webhook(id), .webhookEndpoint(e)), at: 0)
        return t
    }

    /// What an attempt's verdict does to its endpoint: a success clears the failure streak (and a
    /// `failing` mark); a retry extends it; a 410 disables the endpoint; a used-up schedule marks it
    /// failing, naming the call (or batch) `call`.
    static func note(_ verdict: WebhookCommand.Verdict, of attempt: WebhookCall.Attempt, call: String, on e: inout WebhookEndpoint) {
        switch verdict {
        case .delivered:
            e.consecutiveFailures = 0
            e.lastSuccessAt = attempt.at
            if e.failing && !e.disabled { e.failing = false; e.statusReason = "" }
        case .retry:
            e.consecutiveFailures += 1
            e.lastFailureAt = attempt.at
        case .gone:
            e.disabled = true
            e.statusReason = "the receiver answered 410 Gone at attempt \(attempt.attempt)"
            e.lastFailureAt = attempt.at
        case .exhausted:
            e.failing = true
            e.consecutiveFailures += 1
            e.lastFailureAt = attempt.at
            e.statusReason = "call \(call) failed after \(attempt.attempt) attempts: " + String(attempt.response.prefix(200))
        }
    }

    /// The sequences of every batch record of endpoint `id` found in `current`. Pure; any thread.
    static func batchRecordSequences(of id: String, in current: [String: RegistryRecord]) -> Set<UInt64> {
        let prefix = RegistryKeys.webhookBatchPrefix(id)
        var out = Set<UInt64>()
        for (key, record) in current where key.hasPrefix(prefix) {
            if let b = record.webhookBatch { out.formUnion(b.sequences) }
        }
        return out
    }

    /// Moves a batch's calls found pending (`calls`: those of endpoint `id`, the command's) to the
    /// finished calls, each with the batch's attempts and history (the store rewrites their
    /// records: `CallRetirement`). A batch record naming another endpoint (damaged) retires
    /// nothing: its calls were looked up under `id`, not under the endpoint it names.
    private static func retire(_ b: WebhookBatch, of id: String, status: WebhookCall.Status,
                               calls: [UInt64: WebhookBatchReads.CallHead], into t: inout Transition) {
        guard b.endpoint == id else { return }
        let found = b.sequences.filter { calls.index(forKey: $0) != nil }
        guard !found.isEmpty else { return }
        t.retirements.append(CallRetirement(endpoint: b.endpoint, sequences: found, status: status, attempts: b.attempts,
                                            history: b.history,
                                            batch: b.array ? WebhookCall.Batch(id: b.id, size: UInt32(b.sequences.count)) : nil))
    }
}
