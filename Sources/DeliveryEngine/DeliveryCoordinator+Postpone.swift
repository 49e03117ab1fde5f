import DeliveryCore
import SpoolStore

/// The durable side of parking beyond its memory bound: messages of a down destination that no
/// longer fit in `DestinationParking` have their due time moved past the destination's next probe
/// by one `SpoolCommand.postpone` per batch (`PostponeBatcher`), not claimed and deferred one by
/// one. Memory stays bounded by `maxParked` plus the batcher's `maxHeld`, whatever the depth; a
/// crash before a batch commits leaves its messages due, so nothing is lost, and a postpone never
/// passes a message's lifetime end, so it still bounces on time. Scheduler queue.
extension DeliveryCoordinator {
    /// Queues `message` (due, its destinations down, parking full) to be postponed to `until`
    /// (seconds since the epoch). True when it is held (or waits for room) and must not be
    /// claimed; false to claim it as before: it holds a lease (an orphan to recover), or the log
    /// does not write format 4 yet (a cluster mid-upgrade).
    func postpone(_ message: StoredMessage, until: Double, now: Int64) -> Bool {
        guard message.lease == nil, log.entryFormat >= 4 else { return false }
        guard postponer.hasRoom, !postponer.isHeld(message.queueID) else { return true }
        // Spread over time (at most `postponeRate` of a destination come due again per second): no
        // re-postpone wave, and one deep destination does not push another's mail back.
        let expiresAt = Double(message.receivedAt) / 1000 + Double(config.delivery.maxLifetimeSeconds)
        let due = message.recipients.first { !$0.status.isFinal && $0.nextAttemptAt <= now }
        let destination = due.map { DeliveryCoordinator.domain(of: $0.address) }
        let at = parking.spread(postponeUntil: until, expiresAt: expiresAt, now: Double(now) / 1000, destination: destination)
        // How far its pull reaches when the destination comes back (see `+Recovery`).
        if let destination {
            drain.postponed(destination, until: Int64((at * 1000).rounded(.up)), queueID: message.queueID,
                            receivedAt: message.receivedAt)
        }
        if let batch = postponer.add(message.queueID, at: Int64((at * 1000).rounded(.up)), seen: message.nextAttemptAt,
                                     now: now) {
            propose(batch, now: now)
        }
        return true
    }

    /// Proposes the pending batch once its oldest message waited `maxDelayMillis` (the timer
    /// wakes the scheduler for it): messages that come due one by one still share a log entry.
    func flushPostpones(now: Int64) {
        if let batch = postponer.flush(now: now) { propose(batch, now: now) }
    }

    private func propose(_ batch: PostponeBatcher.Batch, now: Int64) {
        let command = SpoolCommand.Postpone(issuedAt: now, items: batch.items.map {
            SpoolCommand.Postpone.Item(queueID: $0.queueID, at: $0.at, seen: $0.seen)
        })
        log.propose(.postpone(command)) { result in
            self.queue.async {
                self.postponer.finished(batch.id)
                switch result {
                case .success:
                    self.postponedTotal += batch.items.count
                    self.logSink("debug", "delivery.postponed", [("messages", String(batch.items.count)),
                                                                 ("untilMs", String(batch.items.first?.at ?? 0))])
                case .failure(let error):
                    self.logSink("warning", "delivery.postpone_failed", [("messages", String(batch.items.count)),
                                                                         ("error", error.description)])
                }
                self.wake()
            }
        }
    }

    /// Messages whose postpone committed, and messages waiting to be postponed (figures and
    /// tests). Scheduler queue.
    func postponeStatistics() -> (postponed: Int, held: Int) { (postponedTotal, postponer.heldCount) }
}
