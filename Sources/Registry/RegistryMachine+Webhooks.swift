extension RegistryMachine {
    /// Applies a webhook command to `current` (the records of `command.keys`). Pure; any thread.
    static func applyWebhook(_ command: WebhookCommand, current: [String: RegistryRecord]) -> Transition {
        let id = command.endpointID
        let key = RegistryKeys.webhook(id)
        let existing = current[key]?.webhookEndpoint
        switch command {
        case .create(let e):
            guard existing == nil else { return .rejected("webhook \(e.id) already exists") }
            if let problem = validate(e) { return .rejected(problem) }
            var t = Transition()
            t.writes = [(key, .webhookEndpoint(e))]
            return t
        case .update(let u):
            guard var e = existing else { return .rejected("no webhook \(id)") }
            if let url = u.url { e.url = url }
            if let events = u.events { e.events = events }
            if let c = u.maxConcurrency { e.maxConcurrency = c }
            if let r = u.ratePerSecond { e.ratePerSecond = r }
            if let b = u.batchMaxEvents { e.batchMaxEvents = b == 0 ? nil : b }
            e.updatedAt = u.at
            if let problem = validate(e) { return .rejected(problem) }
            var t = Transition()
            t.writes = [(key, .webhookEndpoint(e))]
            return t
        case .delete:
            guard existing != nil else { return .rejected("no webhook \(id)") }
            var t = Transition()
            t.writes = [(key, nil)]
            return t
        case .rotateSecret(_, let secret, let graceUntil, let at):
            guard var e = existing else { return .rejected("no webhook \(id)") }
            guard isWebhookSecret(secret) else { return .rejected("a secret is whsec_ + base64 of 24-64 bytes") }
            // Older secrets sign until the grace period ends (an earlier, shorter grace stays).
            e.secrets = [WebhookEndpoint.Secret(value: secret)] + e.secrets.compactMap { s in
                var s = s
                s.expiresAt = min(s.expiresAt ?? .max, graceUntil)
                return s.expiresAt! > at ? s : nil
            }
            e.updatedAt = at
            var t = Transition()
            t.writes = [(key, .webhookEndpoint(e))]
            return t
        case .setPaused(_, let paused, let at):
            guard var e = existing else { return .rejected("no webhook \(id)") }
            e.paused = paused
            if !paused {
                e.disabled = false
                e.failing = false
                e.statusReason = ""
                e.consecutiveFailures = 0
            }
            e.updatedAt = at
            var t = Transition()
            t.writes = [(key, .webhookEndpoint(e))]
            return t
        case .claim(let c):
            guard existing != nil else { return .rejected("no webhook \(id)") }
            guard c.expiresAt > c.issuedAt else { return .rejected("lease must expire after it is issued") }
            var t = Transition()
            let batched = c.batches != nil
            // Calls in a batch record (log entry format 5) go only with their record, whatever the
            // log entry format is now: the store hands the records covering the claim in `current`.
            let inRecords = batchRecordSequences(of: id, in: current)
            groups: for group in c.groups {
                // A batch is leased whole or not at all; an existing batch only as it was made.
                var calls: [WebhookCall] = []
                for seq in group {
                    guard !inRecords.contains(seq),
                          var call = current[RegistryKeys.webhookPending(id, seq)]?.webhookCall, call.status == .pending,
                          call.nextAttemptAt <= c.issuedAt else { continue groups }
                    if let lease = call.lease, lease.expiresAt > c.issuedAt { continue groups }
                    call.lease = WebhookCall.Lease(owner: c.owner, incarnation: c.incarnation, attempt: call.attempts &+ 1,
                                                   expiresAt: c.expiresAt)
                    calls.append(call)
                }
                if batched {
                    let formed = calls.compactMap(\.batch)
                    if formed.isEmpty {
                        let batch = WebhookCall.Batch(id: WebhookOutbox.batchID(calls), size: UInt32(calls.count))
                        for i in calls.indices { calls[i].batch = batch }
                    } else if formed.count != calls.count || Set(formed.map(\.id)).count != 1
                                || formed[0].size != UInt32(calls.count) {
                        continue groups
                    }
                } else {
                    // A claim without batches (log entry format 3: some member predates batching)
                    // sends every call alone, whatever batch it was in.
                    for i in calls.indices { calls[i].batch = nil }
                }
                for call in calls { t.writes.append((RegistryKeys.webhookPending(id, call.sequence), .webhookCall(call))) }
            }
            guard !t.writes.isEmpty else { return .rejected("no call of webhook \(id) is due and free") }
            return t
        case .results(let r):
            guard var e = existing else { return .rejected("no webhook \(id)") }
            var t = Transition()
            let wasFailing = e.failing, wasDisabled = e.disabled
            var recorded = 0
            for result in r.results {
                let callKey = RegistryKeys.webhookPending(id, result.sequence)
                guard var call = current[callKey]?.webhookCall, let lease = call.lease, lease.owner == r.owner,
                      lease.incarnation == r.incarnation, lease.attempt == result.attempt.attempt else { continue }
                recorded += 1
                call.lease = nil
                call.attempts = lease.attempt
                call.history.append(result.attempt)
                if call.history.count > WebhookCall.maxHistory { call.history.removeFirst(call.history.count - WebhookCall.maxHistory) }
                note(result.verdict, of: result.attempt, call: call.webhookID, on: &e)
                switch result.verdict {
                case .delivered:
                    call.status = .delivered
                    t.writes.append((callKey, nil))
                    t.writes.append((RegistryKeys.webhookDone(id, call.sequence), .webhookCall(call)))
                case .retry(let at):
                    call.nextAttemptAt = at
                    t.writes.append((callKey, .webhookCall(call)))
                case .gone:
                    // The call stays pending: a resume sends it.
                    call.nextAttemptAt = result.attempt.at
                    t.writes.append((callKey, .webhookCall(call)))
                case .exhausted:
                    call.status = .failed
                    t.writes.append((callKey, nil))
                    t.writes.append((RegistryKeys.webhookDone(id, call.sequence), .webhookCall(call)))
                }
            }
            guard recorded > 0 else { return .rejected("stale results for webhook \(id)") }
            let at = r.results.map(\.attempt.at).max() ?? 0
            if e.disabled && !wasDisabled {
                t.notices.append(Notice(kind: .webhookDisabled, domain: id, tenant: e.tenant, reason: e.statusReason, at: at))
            } else if e.failing && !wasFailing {
                t.notices.append(Notice(kind: .webhookFailing, domain: id, tenant: e.tenant, reason: e.statusReason, at: at))
            }
            t.writes.insert((key, .webhookEndpoint(e)), at: 0)
            return t
        case .leaseBatches(let l):
            return applyBatchLease(l, reads: WebhookBatchReads(command: command, current: current))
        case .batchResults(let r):
            return applyBatchResults(r, reads: WebhookBatchReads(command: command, current: current))
        case .replay(_, let seqs, let at):
            guard existing != nil else { return .rejected("no webhook \(id)") }
            var t = Transition()
            for seq in seqs {
                let doneKey = RegistryKeys.webhookDone(id, seq)
                guard var call = current[doneKey]?.webhookCall else { continue }
                call.status = .pending
                call.attempts = 0
                call.nextAttemptAt = at
                call.lease = nil
                call.batch = nil  // batched afresh when sent again
                t.writes.append((doneKey, nil))
                t.writes.append((RegistryKeys.webhookPending(id, seq), .webhookCall(call)))
            }
            return t
        }
    }

    /// A problem with an endpoint record, or nil.
    static func validate(_ e: WebhookEndpoint) -> String? {
        guard !e.id.isEmpty, e.id.utf8.count <= 64, e.id.utf8.allSatisfy({ $0 != 0x2F }) else { return "bad webhook id" }
        guard !e.tenant.isEmpty, e.tenant.utf8.count <= 128 else { return "a webhook needs a tenant (1-128 bytes)" }
        let lower = e.url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), e.url.utf8.count <= 2048 else {
            return "url must be http:// or https:// (at most 2048 bytes)"
        }
        guard (1...64).contains(e.maxConcurrency) else { return "concurrency must be 1-64" }
        guard (0...10_000).contains(e.ratePerSecond) else { return "rate must be 0-10000 calls per second" }
        guard !e.secrets.isEmpty, e.secrets.allSatisfy({ isWebhookSecret($0.value) }) else {
            return "a secret is whsec_ + base64 of 24-64 bytes"
        }
        guard e.events.count <= 64 else { return "at most 64 event types" }
        if let b = e.batchMaxEvents, !(1...1000).contains(b) { return "batchMaxEvents must be 1-1000 (0 in an update: the config default)" }
        return nil
    }

    /// `whsec_` followed by base64 (24-64 bytes decoded: 32-88 characters).
    public static func isWebhookSecret(_ s: String) -> Bool {
        guard s.hasPrefix("whsec_") else { return false }
        let body = s.utf8.dropFirst(6)
        guard (32...88).contains(body.count) else { return false }
        return body.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39)
            || $0 == 0x2B || $0 == 0x2F || $0 == 0x3D }
    }
}
