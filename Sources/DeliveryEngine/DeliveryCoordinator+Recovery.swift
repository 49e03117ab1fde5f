import DeliveryCore
import SpoolStore

/// What the scheduler does when a destination comes back after an outage (`RecoveryDrain`): its
/// postponed messages are pulled forward in due order at its shaped rate, and mail received since
/// it came back (fresh) is claimed first and served in turns with the backlog at the rate limiter
/// (`FairLine`), so it is not starved behind the drain. Scheduler queue.
extension DeliveryCoordinator {
    /// The drain's tunables from the engine options.
    static func drainConfiguration(_ options: DeliveryEngine.Options) -> RecoveryDrain.Configuration {
        var c = RecoveryDrain.Configuration()
        c.pullAhead = max(0, options.recoveryPullAhead)
        c.perDestinationIndex = true  // `SpoolStore.postponedEntries`
        return c
    }

    /// Whether `job` is fresh mail of a destination that came back (its lane at the limiter).
    func isFresh(_ job: DeliveryJob) -> Bool {
        options.freshLane && (drain.isFresh(job.domain, receivedAt: job.attempt.message.receivedAt)
                              || drain.isPulledFirst(job.attempt.queueID))
    }

    /// Fresh mail due now, not in flight: found by walking the due index from the earliest
    /// recovery (keys first: an ID made before the recovery is passed over without a read).
    func freshDue(now: Int64) -> [String] {
        guard options.freshLane, let since = drain.freshSince else {
            fresh.reset()
            return []
        }
        if now - fresh.lastWalk >= FreshWalk.spacingMillis {
            fresh.lastWalk = now
            walkFresh(since: since, now: now)
        }
        return fresh.waiting.filter { inFlight[$0] == nil }
    }

    private func walkFresh(since: Int64, now: Int64) {
        var after = fresh.cursor ?? SpoolStore.DuePosition(at: since - 1, queueID: "~")
        if after.at < since - 1 { after = SpoolStore.DuePosition(at: since - 1, queueID: "~") }
        guard let entries = try? store.dueEntries(now: now, after: after, limit: FreshWalk.readsPerWalk) else { return }
        for e in entries {
            if e.at <= now - FreshWalk.lagMillis { fresh.cursor = e }
            guard fresh.seen.updateValue(e.at, forKey: e.queueID) == nil else { continue }
            if let received = RecoveryDrain.receivedMillis(queueID: e.queueID), received < since { continue }
            guard inFlight[e.queueID] == nil, !parking.isParked(e.queueID), !postponer.isHeld(e.queueID),
                  let m = try? store.message(id: e.queueID), m.lease == nil,
                  let due = m.recipients.first(where: { !$0.status.isFinal && $0.nextAttemptAt <= now }) else { continue }
            if drain.isFresh(Self.domain(of: due.address), receivedAt: m.receivedAt) { fresh.add(e.queueID) }
        }
        if let last = entries.last, last.at <= now - FreshWalk.lagMillis { fresh.cursor = last }
        fresh.pruneSeen()
    }

    /// Pulls postponed messages of destinations that came back forward, in due order, while each has
    /// fewer than `pullAhead` pulled attempts in flight and all pulls together stay within their
    /// share of `maxInFlight` (`RecoveryDrain.pullBudget`; the poll leaves them `claimReserve`, so
    /// a scheduler busy with the released backlog still drains postponed mail at a share of the
    /// rate). A destination's postponed mail is read from the spool's postponed table (none of
    /// another destination's), or from the due index up to `SpoolStore.legacyPostponedUntil` (mail
    /// postponed by a build without that table). What one pass takes is made due by one command.
    func pullRecovered(now: Int64) {
        drain.endAll { inFlight[$0] == nil }
        drain.prune(now: now)
        var budget = drain.pullBudget(maxInFlight: options.maxInFlight, inFlight: inFlight.count)
        var taken: [(id: String, seen: Int64)] = []
        for destination in drain.pulling {
            guard budget > 0 else { break }
            var room = min(drain.pullRoom(destination), budget)
            /// Takes `m` into this pass's pull (its due time moves to now with the others').
            func take(_ m: StoredMessage) {
                drain.started(m.queueID, destination: destination)
                taken.append((m.queueID, m.nextAttemptAt ?? now))
                room -= 1
                budget -= 1
            }
            // Fresh mail postponed while the destination still looked down goes first; one whose
            // postpone has not committed yet waits for it (else it would land after the walk).
            var waiting = Set<String>()
            while room > 0, let id = drain.nextFirst(destination) {
                if postponer.isHeld(id) {
                    drain.notYet(destination, id)
                    if !waiting.insert(id).inserted { break }
                    continue
                }
                guard inFlight[id] == nil, !parking.isParked(id), !drain.isPulled(id), let m = try? store.message(id: id) else { continue }
                options.hooks.pullRead?(id, destination)
                guard m.lease.map({ $0.expiresAt <= now }) ?? true else { continue }
                take(m)
            }
            guard room > 0, let pull = drain.pull(of: destination) else { continue }
            let reads = drain.configuration.readsPerPass
            let after = SpoolStore.DuePosition(at: pull.afterAt, queueID: pull.afterID)
            let legacy = store.legacyPostponedUntil.flatMap { pull.afterAt < $0 ? $0 : nil }
            let entries: [SpoolStore.DuePosition]?
            if let legacy {
                entries = try? store.dueEntries(now: min(pull.through, legacy), after: after, limit: reads)
            } else {
                entries = try? store.postponedEntries(destination: destination, after: after, through: pull.through, limit: reads)
            }
            guard let page = entries else { continue }
            var last: SpoolStore.DuePosition?
            for e in page {
                guard room > 0 else { break }
                last = e
                guard inFlight[e.queueID] == nil, !parking.isParked(e.queueID), !postponer.isHeld(e.queueID),
                      !drain.isPulled(e.queueID), let m = try? store.message(id: e.queueID) else { continue }
                options.hooks.pullRead?(e.queueID, destination)
                guard m.lease.map({ $0.expiresAt <= now }) ?? true,
                      m.recipients.contains(where: { !$0.status.isFinal && $0.nextAttemptAt == e.at
                                                     && Self.domain(of: $0.address) == destination }) else { continue }
                take(m)
            }
            if let last { drain.advance(destination, at: last.at, queueID: last.queueID) }
            guard page.count < reads, last == page.last else { continue }
            if let legacy, pull.through > legacy {
                // The legacy walk is done: the postponed table from there on.
                if (last?.at ?? pull.afterAt) < legacy { drain.advance(destination, at: legacy, queueID: "") }
                continue
            }
            drain.finishPull(destination)
            logSink("info", "delivery.recovery_pull_done", [("domain", destination)])
        }
        pullForward(taken, now: now)
    }

    /// Makes the `taken` messages due now (one `pullForward` through the log, or a `reschedule`
    /// each where the log writes no format 6: the state machine claims only due messages) and
    /// claims each once that committed. Counted in the pull's budget meanwhile.
    private func pullForward(_ taken: [(id: String, seen: Int64)], now: Int64) {
        guard !taken.isEmpty else { return }
        let claimAll: @Sendable ([(id: String, seen: Int64)], Bool) -> Void = { items, committed in
            self.queue.async {
                guard committed else {
                    // Still postponed: the pull reads them again (not at their postponed times).
                    self.drain.moveFailed(items.map { (queueID: $0.id, seen: $0.seen) })
                    return
                }
                for id in items.map(\.id) {
                    // Out of `moving` first: the claim counts it in `inFlight` from here.
                    self.drain.claimed(id)
                    guard self.inFlight[id] == nil, self.claim(id, now: self.options.clock()) else {
                        self.drain.ended(id)
                        continue
                    }
                }
            }
        }
        if log.entryFormat >= 6 {
            let command = SpoolCommand.PullForward(at: now, items: taken.map { SpoolCommand.PullForward.Item(queueID: $0.id, seen: $0.seen) })
            pullCommands += 1
            log.propose(.pullForward(command)) { result in
                if case .success = result { claimAll(taken, true) } else { claimAll(taken, false) }
            }
            return
        }
        for item in taken {
            pullCommands += 1
            log.propose(.reschedule(SpoolCommand.Reschedule(queueID: item.id, at: now))) { result in
                if case .success = result { claimAll([item], true) } else { claimAll([item], false) }
            }
        }
    }

    /// The first transaction this run that reached `destination` (it was never seen down here):
    /// when the spool holds postponed mail of it due later (postponed by the member that owned it
    /// before, or before a restart), it is pulled as at a recovery (`RecoveryDrain.firstDelivery`).
    /// One seek of the postponed table per destination per run. Scheduler queue.
    func pullAtFirstDelivery(_ destination: String) {
        guard drain.firstDelivery(destination), !parking.isDown(destination) else { return }
        let now = options.clock()
        guard let found = try? store.postponedEntries(destination: destination, after: SpoolStore.DuePosition(at: now, queueID: ""),
                                                      limit: 1), !found.isEmpty else { return }
        drainRecovered(destination, now: now, lastFailure: nil)
    }

    /// A destination came back (`wasDown`): start its drain. Scheduler queue.
    func drainRecovered(_ destination: String, now: Int64, lastFailure: Double?) {
        // Another member owns the destination: its postponed mail is that member's to pull (a pull
        // here would make the owner's spread backlog due at once, unshaped).
        if let preferredOwner = options.preferredOwner, preferredOwner(destination) != nodeID { return }
        drain.recovered(destination, now: now, lastFailure: lastFailure.map { Int64($0 * 1000) },
                        pending: { postponer.isHeld($0) })
        if let pull = drain.pull(of: destination) {
            logSink("info", "delivery.recovery_pull", [("domain", destination), ("throughMs", String(pull.through))])
        }
    }

    /// Messages pulled forward, pulled attempts in flight, destinations pulling, and fresh mail
    /// claimed ahead of the backlog (figures and tests). Scheduler queue.
    func recoveryStatistics() -> (pulled: Int, pulledInFlight: Int, pulling: Int, freshClaimed: Int) {
        (drain.pulledTotal, drain.pulledCount, drain.pulling.count, fresh.claimedTotal)
    }

    /// Commands the pulls proposed (one `pullForward` per pass, or one `reschedule` per message),
    /// and the most attempts in flight at once (pulled messages being moved included), since start
    /// (figures and tests). Scheduler queue.
    func pullFigures() -> (commands: Int, inFlightPeak: Int) { (pullCommands, inFlightPeak) }
}
