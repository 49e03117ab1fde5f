import Registry
import SpoolStore

extension WebhookDispatcher {
    /// Leases due work of endpoint `e` through batch records (log entry format 5): formed batches
    /// that are due go again as they were formed (same calls, same id, whatever `maxEvents` is
    /// now); calls never leased, above the endpoint's batch mark, form new batches of up to
    /// `maxEvents`. One log entry leases them all and writes one record per batch, none per call.
    /// Other due calls (replays, calls leased by per-call commands before the upgrade) go through
    /// `leaseCalls`. Dispatcher thread.
    func leaseBatchRecords(_ e: WebhookEndpoint, state s: inout EndpointState, now: Int64, capacity: Int, maxEvents: Int,
                           margin: Int64) throws {
        var busy = s.inFlight.union(s.recording).union(heldSequences(e.id))
        for q in s.queue { for c in q.calls { busy.insert(c.sequence) } }
        // A batch only when the lease leaves time to send it; otherwise what is sent now.
        let leaseAhead = Int64(config.leaseSeconds) * 1000 >= 2 * margin
        let posts = (maxEvents > 1 || !leaseAhead ? capacity : Self.leaseBatch(concurrency: e.maxConcurrency)) - s.queue.count
        guard posts > 0 else { return }
        // Records, mark and due calls from one read: a call in a batch record is never fresh nor
        // loose; a batch formed per call (format 4) is read whole, whatever `maxEvents` is now.
        let work = try store.webhookDueWork(e.id, now: now, skipping: busy, limit: min(2048, posts * maxEvents),
                                            grow: Self.largestIncompleteBatch)
        let formed = work.batches.filter { $0.isDue(at: now) && !busy.contains($0.first) }
        let due = work.due, mark = work.mark
        var fresh: [WebhookCall] = [], loose: [WebhookCall] = []
        for c in due {
            if mark.map({ c.sequence > $0 }) ?? true, c.attempts == 0, c.lease == nil, c.batch == nil {
                fresh.append(c)
            } else {
                loose.append(c)
            }
        }
        let waitUntil = Self.batchDeadline(oldest: fresh.map(\.createdAt).min() ?? now, due: fresh.count,
                                           inFlight: !s.inFlightPosts.isEmpty, maxEvents: maxEvents,
                                           maxDelay: Int64(config.batch.maxDelayMillis), now: now)
        if let waitUntil {
            wakeBy = min(wakeBy, waitUntil)
            fresh = []
        }
        let units = Self.batchUnits(formed: formed, fresh: fresh, maxEvents: maxEvents, posts: posts)
        if !units.formed.isEmpty || !units.fresh.isEmpty {
            let expires = now + Int64(config.leaseSeconds) * 1000
            let lease = WebhookCommand.BatchLease(endpoint: e.id, owner: nodeID, incarnation: incarnation, issuedAt: now,
                                                  expiresAt: expires, formed: units.formed,
                                                  fresh: units.fresh.flatMap { $0.map(\.sequence) },
                                                  sizes: units.fresh.map { UInt32($0.count) }, array: maxEvents > 1)
            if case .success = proposeAndWait(.registry(.webhook(.leaseBatches(lease)))) {
                let firsts = (units.formed + units.fresh.map { $0[0].sequence }).sorted()
                // A batch lease leaves the calls' records alone: a new batch's calls are those of the
                // due read, not read and decoded again.
                var read: [UInt64: [WebhookCall]] = [:]
                for chunk in units.fresh { read[chunk[0].sequence] = chunk }
                for first in firsts {
                    guard let b = try store.webhookBatch(e.id, first: first), let l = b.lease, l.owner == nodeID,
                          l.incarnation == incarnation, l.expiresAt == expires else { continue }
                    let calls = try read[first].flatMap { $0.map(\.sequence) == b.sequences ? $0 : nil }
                        ?? store.pendingWebhookCalls(e.id, sequences: b.sequences)
                    guard calls.count == b.sequences.count else {
                        logger.log(.warning, "webhook batch without its calls", ["endpoint": e.id, "batch": b.id])
                        continue
                    }
                    s.queue.append(Leased(calls: calls, attempt: l.attempt, expiresAt: l.expiresAt,
                                          batchID: b.array ? b.id : nil, record: b.first))
                }
            }
        }
        if !loose.isEmpty, s.queue.count < capacity {
            try leaseCalls(e, state: &s, now: now, capacity: capacity, maxEvents: maxEvents, margin: margin, due: loose)
        }
    }

    /// What one batch lease asks for: at most `posts` POSTs, oldest first: formed batches (by first
    /// sequence) and new batches cut from `fresh` (ascending) in chunks of `maxEvents`. Pure.
    static func batchUnits(formed: [WebhookBatch], fresh: [WebhookCall], maxEvents: Int,
                           posts: Int) -> (formed: [UInt64], fresh: [[WebhookCall]]) {
        var chunks: [[WebhookCall]] = []
        var at = 0
        while at < fresh.count {
            chunks.append(Array(fresh[at..<min(fresh.count, at + max(1, maxEvents))]))
            at += max(1, maxEvents)
        }
        var outFormed: [UInt64] = [], outFresh: [[WebhookCall]] = []
        var f = formed.map(\.first).sorted()[...], c = chunks[...]
        while outFormed.count + outFresh.count < posts, !f.isEmpty || !c.isEmpty {
            if let x = f.first, c.first.map({ x < $0[0].sequence }) ?? true {
                outFormed.append(x)
                f = f.dropFirst()
            } else {
                // New batches only in sequence order: one left out would fall under the mark.
                outFresh.append(c.first!)
                c = c.dropFirst()
            }
        }
        return (outFormed, outFresh)
    }

    /// Leases due calls of endpoint `e` with per-call commands (log entry formats 3 and 4; at
    /// format 5, the calls outside batch records): `due`, or what is due now when nil. A batch
    /// formed by a per-call claim goes again whole and as it was: the due read grows until it holds
    /// every call of such a batch, and with `maxEvents` at 1 formed batches are leased by a batched
    /// claim of their own while the other calls go alone. Calls in batch records are never read
    /// (nor claimed: `RegistryMachine` drops them), at any format: a record formed at format 5
    /// waits for format 5 to go again. Dispatcher thread.
    func leaseCalls(_ e: WebhookEndpoint, state s: inout EndpointState, now: Int64, capacity: Int, maxEvents: Int,
                    margin: Int64, due given: [WebhookCall]?) throws {
        var skipping = s.inFlight.union(s.recording).union(heldSequences(e.id))
        for q in s.queue { for c in q.calls { skipping.insert(c.sequence) } }
        // A batch only when the lease leaves time to send it; otherwise what is sent now.
        let leaseAhead = Int64(config.leaseSeconds) * 1000 >= 2 * margin
        let want: Int
        if maxEvents > 1 {
            want = min(2048, (capacity - s.queue.count) * maxEvents)
        } else {
            want = (leaseAhead ? Self.leaseBatch(concurrency: e.maxConcurrency) : capacity) - s.queue.count
        }
        guard want > 0 else { return }
        var due: [WebhookCall]
        if let given {
            due = given
        } else {
            // A formed batch larger than what was read (its endpoint's batch size was lowered since):
            // read on until every formed batch that starts in the read is whole. Calls in batch
            // records (formed at format 5, the format since lower) are left to their records.
            due = try store.webhookDueWork(e.id, now: now, skipping: skipping, limit: want + (maxEvents > 1 ? maxEvents : 0),
                                           grow: Self.largestIncompleteBatch).due
        }
        let formedDue = due.contains { $0.batch != nil }
        let waitUntil = Self.batchDeadline(oldest: due.map(\.createdAt).min() ?? now, due: due.count,
                                           inFlight: !s.inFlightPosts.isEmpty, maxEvents: maxEvents,
                                           maxDelay: Int64(config.batch.maxDelayMillis), now: now)
        if let waitUntil { wakeBy = min(wakeBy, waitUntil) }
        guard !due.isEmpty, waitUntil == nil else { return }
        let expires = now + Int64(config.leaseSeconds) * 1000
        var claims: [WebhookCommand.Claim] = []
        if maxEvents > 1 {
            let groups = Self.batches(due, maxEvents: maxEvents, limit: want, posts: capacity - s.queue.count)
            claims.append(WebhookCommand.Claim(endpoint: e.id, sequences: groups.flatMap { $0.map(\.sequence) }, owner: nodeID,
                                               incarnation: incarnation, issuedAt: now, expiresAt: expires,
                                               batches: groups.map { UInt32($0.count) }))
        } else {
            // Batches of one event now: batches formed before keep their makeup and id (a claim
            // without batches would send their calls alone under new ids); the others go alone.
            if formedDue {
                let groups = Self.batches(due.filter { $0.batch != nil }, maxEvents: 1, limit: want,
                                          posts: capacity - s.queue.count)
                claims.append(WebhookCommand.Claim(endpoint: e.id, sequences: groups.flatMap { $0.map(\.sequence) }, owner: nodeID,
                                                   incarnation: incarnation, issuedAt: now, expiresAt: expires,
                                                   batches: groups.map { UInt32($0.count) }))
            }
            let alone = due.filter { $0.batch == nil }.prefix(want)
            claims.append(WebhookCommand.Claim(endpoint: e.id, sequences: alone.map(\.sequence), owner: nodeID,
                                               incarnation: incarnation, issuedAt: now, expiresAt: expires, batches: nil))
        }
        for claim in claims where !claim.sequences.isEmpty {
            guard case .success = proposeAndWait(.registry(.webhook(.claim(claim)))) else { continue }
            var leased: [WebhookCall] = []
            for seq in claim.sequences {
                guard let call = try store.webhookCall(e.id, sequence: seq), let lease = call.lease,
                      lease.owner == nodeID, lease.incarnation == incarnation, call.status == .pending else { continue }
                leased.append(call)
            }
            s.queue += Self.posts(leased)
        }
    }

    /// The size of the largest batch with calls in `due` but not all of them, or nil. Pure.
    static func largestIncompleteBatch(_ due: [WebhookCall]) -> Int? {
        var count: [String: (seen: Int, size: Int)] = [:]
        for c in due { if let b = c.batch { count[b.id, default: (0, Int(b.size))].seen += 1 } }
        return count.values.filter { $0.seen < $0.size }.map(\.size).max()
    }
}
