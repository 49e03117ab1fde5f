import DeliveryCore
import SpoolStore

/// Parking of retries for destinations that are down (see `DestinationParking`): the scheduler
/// asks before claiming a due message, feeds connection-level results of jobs, claims probes and
/// expired parked messages, and steps over the parked run at the head of the due index with
/// `parkCursor`. A parked retry costs a read of its record once, no log proposal and no write.
extension DeliveryCoordinator {
    /// The parking configuration: the breaker's threshold and first open period, lifetime ends
    /// noticed within a tenth of the lifetime (at most 10 s late).
    static func parkingConfiguration(_ options: DeliveryEngine.Options, lifetime: Int) -> DestinationParking.Configuration {
        var c = DestinationParking.Configuration()
        c.failureThreshold = options.breakerThreshold
        c.fallbackInterval = options.breakerOpenSeconds
        c.maxParked = options.maxParked
        c.postponeSeconds = options.parkingPostponeSeconds
        c.postponeRate = options.parkingPostponeRate
        c.expirySweepInterval = min(10, max(0.5, Double(lifetime) / 10))
        return c
    }

    /// Whether to claim `message`, due now, or leave it parked (nil: not a parking question, e.g.
    /// no recipient due). Scheduler queue.
    func parkingDecision(_ message: StoredMessage, now: Int64) -> DestinationParking.Decision {
        guard options.maxParked > 0 else { return .claim }
        var domains: [String] = []
        for recipient in message.recipients where !recipient.status.isFinal && recipient.nextAttemptAt <= now {
            let domain = DeliveryCoordinator.domain(of: recipient.address)
            if !domains.contains(domain) { domains.append(domain) }
        }
        let expiresAt = Double(message.receivedAt) / 1000 + Double(config.delivery.maxLifetimeSeconds)
        let decision = parking.decide(message.queueID, destinations: domains, expiresAt: expiresAt,
                                      now: Double(now) / 1000)
        if decision == .park { parkedTotal += 1 }
        if decision == .probe {
            logSink("info", "delivery.park_probe", [("queueId", message.queueID), ("domain", domains.joined(separator: ","))])
        }
        return decision
    }

    /// A job ended with every host of its route failed or skipped. A destination failure when a
    /// connection really failed or a host's breaker is tripped (not a local reason such as a pool
    /// without an address of the family). Scheduler queue.
    func parkingJobFailed(_ job: DeliveryJob, now: Double) {
        guard options.maxParked > 0 else { return }
        var retryAt: Double?
        var tripped = false
        for candidate in job.candidates {
            let state = breakers["\(candidate.address):\(candidate.host.port)"]?.state(now: now) ?? .closed
            switch state {
            case .open(let until):
                tripped = true
                retryAt = min(retryAt ?? until, until)
            case .halfOpen:
                tripped = true
                retryAt = now
            case .closed:
                retryAt = now
            }
        }
        guard job.failedOver || tripped else { return }
        let wasDown = parking.isDown(job.domain)
        parking.recordFailure(job.domain, queueID: job.attempt.queueID, now: now, retryAt: retryAt)
        // Down again while draining: the pull stops (no storm of pulled attempts).
        if parking.isDown(job.domain) { drain.wentDown(job.domain) }
        if !wasDown, parking.isDown(job.domain) {
            logSink("warning", "delivery.destination_down",
                    [("domain", job.domain), ("probeInSeconds", String(Int(((retryAt ?? now) - now).rounded(.up))))])
        }
    }

    /// A transaction reached `job`'s destination: releases its parked messages, and when it was
    /// down starts its drain (postponed mail pulled forward, see `+Recovery`). Scheduler queue.
    func parkingJobSucceeded(_ job: DeliveryJob) {
        defer { drain.delivered(job.domain, now: options.clock()) }
        pullAtFirstDelivery(job.domain)
        guard !parking.destinations.isEmpty else { return }
        let wasDown = parking.isDown(job.domain)
        let now = options.clock()
        let lastFailure = parking.destinations[job.domain]?.lastFailure
        let released = parking.recordSuccess(job.domain, now: Double(now) / 1000)
        if !released.isEmpty { parkCursor = nil }
        if wasDown {
            drainRecovered(job.domain, now: now, lastFailure: lastFailure)
            logSink("info", "delivery.destination_up", [("domain", job.domain), ("released", String(released.count))])
        }
    }

    /// Takes out of parking the probes that may start now (claimed here) and the messages whose
    /// lifetime ended (claimed by the due-index scan, which starts over). Scheduler queue.
    func releaseParked(now: Int64) {
        guard parking.parkedCount > 0 else {
            parkCursor = nil
            return
        }
        let seconds = Double(now) / 1000
        if !parking.expired(now: seconds).isEmpty { parkCursor = nil }
        // Entries can land before the cursor (another node's clock, the same millisecond; the
        // backward walk of the most recently due finds most of them): walk the parked run again
        // every 5 minutes (10^6 parked: about 3,300 index entries read per second on average).
        if now - parkCursorSince > 300_000 {
            parkCursor = nil
            parkCursorSince = now
        }
        for id in parking.dueProbes(now: seconds) {
            guard inFlight[id] == nil, inFlight.count + drain.movingCount < options.maxInFlight,
                  claim(id, now: now, probe: true) else {
                parking.attemptEnded(id)
                parkCursor = nil
                continue
            }
            logSink("info", "delivery.park_probe", [("queueId", id)])
        }
        if parking.parkedCount == 0 { parkCursor = nil }
    }

    /// Moves `parkCursor` over the leading run of `page` (due-index order) that is parked.
    func advanceParkCursor(over page: [SpoolStore.DuePosition]) {
        guard parking.parkedCount > 0 else {
            parkCursor = nil
            return
        }
        for position in page {
            guard parking.isParked(position.queueID) || postponer.isHeld(position.queueID) else { break }
            parkCursor = position
        }
    }

    /// Messages parked, destinations down, and times a due message was parked (figures and
    /// tests). Scheduler queue.
    func parkingStatistics() -> (parked: Int, destinationsDown: Int, parkedTotal: Int) {
        (parking.parkedCount, parking.destinations.values.filter(\.down).count, parkedTotal)
    }
}
