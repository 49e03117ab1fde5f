import DNSService
import DeliveryCore
import Dispatch
import Foundation
import NetworkIO
import SendarixSupport
import RelayConfig
import SpoolStore
import Synchronization

/// The delivery scheduler: finds due messages, claims them through the log, routes each domain's
/// recipients, runs the SMTP transactions through the `ConnectionPool` with shaping, failover,
/// circuit breakers and adaptive throttling, and proposes the outcome (plus suppressions and
/// DSNs) when every recipient has a result.
///
/// All state is confined to `queue`; DNS lookups run on worker queues, SMTP on the event loops.
/// Entry points (`wake`, `stop`) are thread-safe.
final class DeliveryCoordinator: @unchecked Sendable {
    // Safe: every mutable property is touched only on `queue` (entry points hop onto it).

    /// Runs at `options.schedulerQoS` (by default below the SMTP listeners' priority).
    let queue: DispatchQueue
    let config: RelayConfig
    let nodeID: String
    let hostname: String
    let store: SpoolStore
    let log: any ReplicatedLog
    let loops: [EventLoop]
    let logSink: DeliveryEngine.LogSink
    let options: DeliveryEngine.Options
    let routes: RouteResolver
    let schedule: RetrySchedule
    let dsnBuilder: DSNBuilder
    let heloName: String
    private let dnsLanes: [DispatchQueue]
    private let plainTLS: TLSContext?
    private let verifyTLS: TLSContext?
    /// Checks certificates without enforcing them (MTA-STS testing mode).
    private let reportTLS: TLSContext?
    /// MTA-STS policies and TLS report outcomes (nil: `delivery.mtaSts.enabled` false or no resolver).
    let mtaSTS: MTASTSService?
    private let wakePending = Atomic<Bool>(false)

    private var laneIndex = 0
    private var loopIndex = 0
    private var warmup: IPWarmup
    /// Source pool by authenticated user (`users[].pool`).
    private var userPools: [String: String]
    private(set) var inFlight: [String: MessageAttempt] = [:]
    private let pool = ConnectionPool()
    var breakers: [String: CircuitBreaker] = [:]
    /// Due messages of destinations that are down, left unclaimed (see `+Parking`).
    var parking: DestinationParking
    /// The last due-index entry of the parked run at the index's head (the scan starts after it).
    var parkCursor: SpoolStore.DuePosition?
    /// Times a due message was parked instead of claimed.
    var parkedTotal = 0
    /// When the scan last started over from the due index's head while messages were parked.
    var parkCursorSince: Int64 = 0
    /// Messages beyond parking's memory bound waiting to be postponed (see `+Postpone`).
    var postponer = PostponeBatcher()
    /// Messages whose postpone committed.
    var postponedTotal = 0
    /// Destinations that came back: their postponed mail pulled forward, their fresh mail
    /// apart from the backlog (see `+Recovery`).
    var drain: RecoveryDrain
    /// The fresh-mail walk of the due index (see `+Recovery`).
    var fresh = FreshWalk()
    /// Commands the recovery pulls proposed, and the most attempts in flight at once (see
    /// `pullFigures`).
    var pullCommands = 0
    var inFlightPeak = 0
    private var brokenTLS: [String: Double] = [:]
    private var deferrals: ProviderDeferrals
    var rateLimiters: [AdaptiveThrottle.Key: RateLimiter] = [:]
    private var random = SystemRandomNumberGenerator()
    private var stopping = false
    private var timerGeneration = 0
    private var drained: DispatchSemaphore?
    private var transactionsSent = 0
    private var lastRenewalCheck: Int64 = 0
    /// Jobs waiting for a token of a rate limiter, first come first served, and the limiters
    /// whose release timer is armed (see `waitForToken`).
    var limiterWaiters: [AdaptiveThrottle.Key: FairLine<DeliveryJob>] = [:]
    var limiterTimers = Set<AdaptiveThrottle.Key>()
    /// Times a waiting job was handed back to `tryNext` (figures and tests).
    var tokenWakeups = 0
    /// Whether the next claim goes to the most recently due message (see `interleaved`).
    private var newestTurn = true
    /// Due messages found to be another member's work, skipped without a read (see `+Foreign`).
    var foreign = ForeignClaims(capacity: 50_000)
    /// Recorded in every claim (see `Options.incarnation`).
    let incarnation: UInt64

    init(config: RelayConfig, nodeID: String, hostname: String, store: SpoolStore, log: any ReplicatedLog,
         loops: [EventLoop], options: DeliveryEngine.Options, logSink: @escaping DeliveryEngine.LogSink) {
        self.queue = DispatchQueue(label: "sendarix.delivery.scheduler", qos: options.schedulerQoS)
        self.config = config
        self.nodeID = nodeID
        self.hostname = hostname
        self.store = store
        self.log = log
        self.loops = loops
        self.options = options
        self.logSink = logSink
        self.heloName = config.delivery.heloName ?? hostname
        let resolver = try? DNSResolver(nameservers: config.resolver.nameservers.map(\.description),
                                        timeout: Double(max(config.resolver.timeoutMs, 50)) / 1000)
        var routes = RouteResolver(config: config, resolver: resolver, mxPort: options.mxPort, ourHostname: hostname)
        self.schedule = RetrySchedule(steps: options.retrySteps, maxLifetime: Double(config.delivery.maxLifetimeSeconds),
                                      jitter: options.retryJitter, localRetryDelay: options.localRetrySeconds)
        self.dsnBuilder = DSNBuilder(reportingMTA: hostname)
        self.dnsLanes = (0..<max(1, options.dnsThreads)).map { DispatchQueue(label: "sendarix.delivery.dns\($0)") }
        self.plainTLS = try? TLSContext(clientVerification: .none)
        if let caFile = options.caFile, !caFile.isEmpty {
            self.verifyTLS = try? TLSContext(clientVerification: .caFile(caFile))
            self.reportTLS = try? TLSContext(clientVerification: .caFile(caFile), enforce: false)
        } else {
            self.verifyTLS = try? TLSContext(clientVerification: .systemTrust)
            self.reportTLS = try? TLSContext(clientVerification: .systemTrust, enforce: false)
        }
        self.mtaSTS = Self.makeMTASTS(config: config, resolver: resolver, loops: loops, context: verifyTLS, options: options)
        routes.mtaSTS = mtaSTS
        self.routes = routes
        self.deferrals = ProviderDeferrals(configuration: options.throttle)
        let parkingConfiguration = Self.parkingConfiguration(options, lifetime: config.delivery.maxLifetimeSeconds)
        self.parking = DestinationParking(configuration: parkingConfiguration)
        // Mail an earlier run postponed has no horizon in memory: pulled through the start plus the
        // longest postponement at a destination's first recovery (only when postponing is on).
        self.drain = RecoveryDrain(configuration: Self.drainConfiguration(options),
                                   unrecordedUntil: parkingConfiguration.postponeSeconds > 0
                                       ? options.clock() + Int64(parkingConfiguration.longestPostponeSeconds * 1000) : nil)
        var warmup = IPWarmup(dailyCaps: options.warmupDailyCaps)
        let configured = DeliveryEngine.Options.sourcePools(for: config)
        var pools = options.sourcePools ?? configured.filter { $0.key != Self.defaultPool }
        pools[Self.defaultPool] = options.sourceIPs ?? configured[Self.defaultPool] ?? []
        for (name, sources) in pools {
            warmup.setPool(name + "/v4", sources.filter { !$0.address.contains(":") })
            warmup.setPool(name + "/v6", sources.filter { $0.address.contains(":") })
        }
        self.warmup = warmup
        self.userPools = Self.userPools(config.users)
        var incarnation = options.incarnation ?? 0
        while incarnation == 0 { incarnation = UInt64.random(in: 1...UInt64.max) }
        self.incarnation = incarnation
        if resolver == nil {
            logSink("warning", "delivery.resolver", [("reason", "no nameservers; MX delivery will defer")])
        }
    }

    // MARK: Entry points (any thread)

    /// Schedules a scheduler pass; coalesces bursts. Never blocks.
    func wake() {
        guard !wakePending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        queue.async {
            self.wakePending.store(false, ordering: .releasing)
            self.poll()
        }
    }

    /// Stops claiming and waits up to `timeout` seconds for attempts in flight. Blocks.
    func stop(timeout: Double) {
        let semaphore: DispatchSemaphore? = queue.sync {
            stopping = true
            timerGeneration += 1
            pool.closeIdle()
            guard !inFlight.isEmpty else { return nil }
            let s = DispatchSemaphore(value: 0)
            drained = s
            return s
        }
        if let semaphore { _ = semaphore.wait(timeout: .now() + timeout) }
        let figures: (Int, Int, Int) = queue.sync {
            pool.closeIdle()
            return (inFlight.count, pool.connectionsOpened, transactionsSent)
        }
        let perConnection = figures.1 > 0 ? Double(figures.2) / Double(figures.1) : 0
        logSink("info", "delivery.stopped", [("inFlight", String(figures.0)), ("connections", String(figures.1)),
                                             ("transactions", String(figures.2)),
                                             ("messagesPerConnection", String(format: "%.1f", perConnection))])
    }

    /// Messages in flight and connections opened (for tests and figures). Blocks briefly.
    func statistics() -> (inFlight: Int, connectionsOpened: Int, transactions: Int) {
        queue.sync { (inFlight.count, pool.connectionsOpened, transactionsSent) }
    }

    /// After a restart, takes back the messages this node still holds leases on (they would
    /// otherwise wait for the lease to expire), one page of the store's lease table per scheduler
    /// turn: the work is the leases this node holds, whatever the queue's depth. A pass that found
    /// such leases runs again a second later (up to `pass` 20): right after a restart the node may
    /// not know the leader yet, or not have applied the latest claims, and a refused recovery claim
    /// would leave the message waiting for its lease to run out.
    func recoverLeases(after: String? = nil, pass: Int = 1, found: Int = 0, startedAt: Int64? = nil) {
        queue.async {
            guard !self.stopping else { return }
            let now = self.options.clock()
            let started = startedAt ?? now
            let page = (try? self.store.leasedMessages(owner: self.nodeID, after: after, limit: 1_000)) ?? []
            var found = found
            for id in page where self.inFlight[id] == nil {
                found += 1
                if self.claim(id, now: now) {
                    self.logSink("info", "delivery.lease_recovered", [("queueId", id), ("pass", String(pass))])
                }
            }
            if page.count == 1_000, let last = page.last {
                self.recoverLeases(after: last, pass: pass, found: found, startedAt: started)
            } else {
                self.logSink("info", "delivery.lease_recovery_done",
                             [("pass", String(pass)), ("examined", String(found)),
                              ("ms", String(self.options.clock() - started))])
                if found > 0 && pass < 20 {
                    self.queue.asyncAfter(deadline: .now() + 1) { self.recoverLeases(pass: pass + 1) }
                }
            }
        }
    }

    // MARK: Scheduling

    private func poll() {
        guard !stopping else { return }
        let now = options.clock()
        renewLeases(now: now)
        releaseParked(now: now)
        var onlyInFlight = false
        // Pulled attempts count in `maxInFlight`: those being moved, and the room pulls could use
        // now, are left to them (see `+Recovery`). Pulled attempts that ended give their room back
        // first, else the claims below would take it.
        drain.endAll { inFlight[$0] == nil }
        let ceiling = options.maxInFlight - drain.movingCount - drain.claimReserve(maxInFlight: options.maxInFlight)
        let capacity = ceiling - inFlight.count
        if capacity > 0 {
            do {
                // In cluster mode the head of the due index may belong to other nodes: look further.
                let window = options.preferredOwner == nil ? min(options.batchSize, capacity) : options.batchSize * 10
                var claimed = 0
                var seen = false
                var owners: [String: Bool] = [:]  // domain → maps to this node, asked once a pass
                // A page wholly parked moves the cursor past it: read on (bounded) from there.
                for page in 0..<20 {
                    // Oldest due first (after the parked run), interleaved with the most recently due
                    // (fresh mail, retries that just came due), so new mail is not starved behind an
                    // overdue backlog. The turn carries over between passes, so with little capacity
                    // both ends still drain. Parked messages are skipped without a read.
                    let limit = window + inFlight.count
                    let head = try store.dueEntries(now: now, after: parkCursor, limit: limit)
                    let newest = page > 0 ? [] : try store.recentlyDueMessages(now: now, limit: (window + 1) / 2 + inFlight.count)
                    // Mail received since its destination came back goes first (see `+Recovery`).
                    let ids = Self.interleaved(Self.interleaved(head.map(\.queueID), newest, newestFirst: newestTurn),
                                               page > 0 ? [] : freshDue(now: now), newestFirst: true)
                    seen = seen || !ids.isEmpty
                    var pageClaimed = 0
                    for id in ids where inFlight[id] == nil && !parking.isParked(id) && !postponer.isHeld(id)
                        && !skipsForeign(id, now: now, owners: &owners) {
                        guard inFlight.count < ceiling else { break }
                        if claim(id, now: now) { pageClaimed += 1 }
                        fresh.tried(id, claimed: inFlight[id] != nil)
                    }
                    if pageClaimed % 2 == 1 { newestTurn.toggle() }
                    claimed += pageClaimed
                    let before = parkCursor
                    advanceParkCursor(over: head)
                    guard head.count == limit, let last = head.last, parkCursor == last, before != last,
                          inFlight.count < ceiling else { break }
                }
                onlyInFlight = claimed == 0 && seen
                flushPostpones(now: now)
            } catch {
                logSink("error", "delivery.due", [("error", "\(error)")])
            }
        }
        // Pulls have a budget of their own: they run while the released backlog fills `maxInFlight`.
        pullRecovered(now: now)
        scheduleTimer(now: now, busy: onlyInFlight || capacity <= 0)
    }

    /// Renews the leases of attempts that have used a third of theirs (long transfers, slow
    /// hosts). Only a renewal that committed extends the lease the attempt acts on: a node cut
    /// off from the majority sees its leases run out and stops sending bodies (see `mayCommit`).
    private func renewLeases(now: Int64) {
        // Checking every tenth of a lease is plenty; polls can be far more frequent.
        guard now - lastRenewalCheck >= Int64(options.leaseSeconds * 100) else { return }
        lastRenewalCheck = now
        pruneHostState(now: Double(now) / 1000)
        let renewBelow = Int64(options.leaseSeconds * 1000 * 2 / 3)
        for attempt in inFlight.values where attempt.started && !attempt.renewing && attempt.leaseExpiresAt - now < renewBelow {
            let claim = SpoolCommand.Claim(queueID: attempt.queueID, owner: nodeID, attempt: attempt.number, issuedAt: now,
                                           expiresAt: now + Int64(options.leaseSeconds * 1000), incarnation: incarnation)
            attempt.renewing = true
            log.propose(.claim(claim)) { result in
                self.queue.async {
                    attempt.renewing = false
                    switch result {
                    case .success:
                        attempt.leaseExpiresAt = max(attempt.leaseExpiresAt, claim.expiresAt)
                    case .failure(let error):
                        self.logSink("warning", "delivery.lease_renewal_failed",
                                     [("queueId", claim.queueID), ("error", error.description)])
                    }
                }
            }
        }
    }

    /// Seconds of committed lease an attempt must have left when a message body is about to leave:
    /// twice the clock difference the leader allows between nodes (another node's claim is judged
    /// by its own clock) plus a second for the body to reach the receiver.
    var commitMarginMillis: Int64 { min(5_000, Int64(options.leaseSeconds * 500)) }

    /// The gate asked on the event loop just before `attempt`'s body is sent: true while the
    /// committed lease outlasts the margin. Any thread.
    private func commitGate(_ attempt: MessageAttempt) -> SMTPClientConnection.CommitGate {
        let clock = options.clock
        let margin = commitMarginMillis
        let logSink = self.logSink
        return { [attempt] in
            let end = attempt.committedLeaseEnd.load(ordering: .relaxed)
            let now = clock()
            guard now + margin <= end else {
                logSink("warning", "delivery.lease_too_short",
                        [("queueId", attempt.queueID), ("leaseLeftMs", String(end - now))])
                return false
            }
            return true
        }
    }

    /// Forgets per-host state that no longer restricts anything (closed breakers, full rate
    /// buckets, expired TLS memories, decayed throttles), so memory stays bounded by the hosts
    /// that are currently misbehaving or busy.
    private func pruneHostState(now: Double) {
        breakers = breakers.filter { $0.value.state(now: now) != .closed }
        parking.prune(now: now)
        brokenTLS = brokenTLS.filter { $0.value > now }
        rateLimiters = rateLimiters.filter { $0.value.available(now: now) < $0.value.burst }
        deferrals.prune(now: now)
    }

    private func scheduleTimer(now: Int64, busy: Bool) {
        let idle = options.idlePollSeconds.isFinite ? min(max(options.idlePollSeconds, 0.05), 3_600) : 30
        var delay = idle
        if let next = try? store.nextDueTime(after: parkCursor) {
            delay = min(max(Double(next - now) / 1000, 0.005), idle)
        }
        if let event = parking.nextEvent() {
            delay = min(delay, max(event - Double(now) / 1000, 0.005))
        }
        // Everything due is in flight or owned by another node: completions wake us anyway.
        if busy { delay = max(delay, 1) }
        if let flush = postponer.nextFlush() { delay = min(delay, max(Double(flush - now) / 1000, 0.005)) }
        // Attempts in flight need their leases renewed in time.
        if !inFlight.isEmpty { delay = min(delay, options.leaseSeconds / 10) }
        timerGeneration += 1
        let generation = timerGeneration
        queue.asyncAfter(deadline: .now() + delay) {
            guard generation == self.timerGeneration else { return }
            self.poll()
        }
    }

    /// `probe`: the message was let out of parking as its destination's probe.
    func claim(_ id: String, now: Int64, probe: Bool = false) -> Bool {
        guard let message = try? store.message(id: id) else { return false }
        let number = message.attempts &+ 1
        var ownLease = false
        if let lease = message.lease, lease.expiresAt > now {
            guard lease.owner == nodeID else {
                noteForeign(id, domain: nil, lease: lease, now: now)
                return false
            }
            // Our own lease with no attempt running here: an earlier incarnation's (before a
            // restart) or one whose outcome did not commit. Supersede it with the next attempt now
            // rather than wait for it to expire.
            ownLease = true
        }
        if !ownLease, let preferredOwner = options.preferredOwner {
            let orphaned = message.lease.map { now - $0.expiresAt > Int64(options.orphanGraceSeconds * 1000) } ?? false
            let due = message.recipients.first { !$0.status.isFinal && $0.nextAttemptAt <= now } ?? message.recipients.first
            let domain = due.map { DeliveryCoordinator.domain(of: $0.address) } ?? ""
            guard orphaned || preferredOwner(domain) == nodeID else {
                noteForeign(id, domain: domain, lease: message.lease, now: now)
                return false
            }
        }
        foreign.forget(id)
        if !ownLease, !probe {
            switch parkingDecision(message, now: now) {
            case .park: return false
            case .postpone(let until): if postpone(message, until: until, now: now) { return false }
            case .claim, .probe: break
            }
        }
        let attempt = MessageAttempt(queueID: id, number: number, message: message)
        inFlight[id] = attempt
        inFlightPeak = max(inFlightPeak, inFlight.count + drain.movingCount)
        let claim = SpoolCommand.Claim(queueID: id, owner: nodeID, attempt: attempt.number, issuedAt: now,
                                       expiresAt: now + Int64(options.leaseSeconds * 1000), incarnation: incarnation)
        log.propose(.claim(claim)) { result in
            self.queue.async { self.claimed(attempt, claim, result) }
        }
        return true
    }

    private func claimed(_ attempt: MessageAttempt, _ claim: SpoolCommand.Claim, _ result: Result<UInt64, StoreError>) {
        switch result {
        case .failure(let error):
            inFlight[attempt.queueID] = nil
            parking.attemptEnded(attempt.queueID)
            logSink("debug", "delivery.claim_refused", [("queueId", attempt.queueID), ("error", error.description)])
            checkDrained()
        case .success:
            attempt.leaseExpiresAt = claim.expiresAt
            start(attempt)
        }
    }

    // MARK: Attempts

    private func start(_ attempt: MessageAttempt) {
        let now = options.clock()
        guard let (message, body) = (try? store.messageAndBody(id: attempt.queueID)) ?? nil else {
            inFlight[attempt.queueID] = nil
            checkDrained()
            return
        }
        attempt.message = message
        attempt.body = body
        attempt.started = true
        let expired = schedule.isExpired(queuedAt: Double(message.receivedAt) / 1000, now: Double(now) / 1000)
        var groups: [String: [StoredMessage.RecipientState]] = [:]
        var order: [String] = []
        for recipient in message.recipients where !recipient.status.isFinal && recipient.nextAttemptAt <= now {
            if (try? store.suppression(tenant: message.tenant, address: recipient.address)) ?? nil != nil
                || options.hooks.simulatedSuppression?(recipient.address) == true {
                let reply = SMTPReply(550, EnhancedStatusCode(5, 7, 1), "recipient is on the suppression list of tenant \(message.tenant)")
                attempt.record(MessageAttempt.Recorded(
                    result: SpoolCommand.RecipientResult(recipient: recipient.address, disposition: .suppressed,
                                                         smtpCode: 550, enhancedCode: "5.7.1", response: reply.description),
                    reply: reply, hard: true, expired: false, bounceClass: nil))
                continue
            }
            if expired {
                recordExpired(recipient, attempt: attempt)
                continue
            }
            let domain = DeliveryCoordinator.domain(of: recipient.address)
            guard !domain.isEmpty else {
                record(recipient.address, SMTPReply(553, EnhancedStatusCode(5, 1, 3), "recipient address has no domain"),
                       isLocal: true, remoteHost: "", attempt: attempt, now: now)
                continue
            }
            if groups[domain] == nil { order.append(domain) }
            groups[domain, default: []].append(recipient)
        }
        guard !order.isEmpty else {
            finish(attempt)
            return
        }
        attempt.pendingJobs = order.count
        let requiresUTF8 = message.flags.contains(.smtpUTF8)
        for domain in order {
            let recipients = groups[domain]!.map { state in
                SMTPClientSession.Recipient(state.address, notify: DeliveryCoordinator.notify(state.notify),
                                            originalRecipient: DeliveryCoordinator.orcpt(state.originalRecipient))
            }
            let transaction = SMTPClientSession.Transaction(
                tag: 0, mailFrom: options.hooks.returnPath?(message, groups[domain]!) ?? message.sender, recipients: recipients, message: body, requiresSMTPUTF8: requiresUTF8,
                dsnReturn: message.dsnReturn == .full ? .full : (message.dsnReturn == .headers ? .headers : nil),
                envelopeID: message.dsnEnvelopeID.isEmpty ? nil : message.dsnEnvelopeID)
            let job = DeliveryJob(attempt: attempt, domain: domain, transaction: transaction, startedAt: now)
            if let routeDomain = options.hooks.routeDomain?(message, domain), let resolution = routes.resolveWithoutDNS(domain: routeDomain) {
                routed(job, resolution)
            } else if let resolution = routes.resolveWithoutDNS(domain: domain) {
                routed(job, resolution)
            } else {
                let lane = dnsLanes[laneIndex % dnsLanes.count]
                laneIndex &+= 1
                let routes = self.routes
                lane.async {
                    let resolution = routes.resolve(domain: domain)
                    self.queue.async { self.routed(job, resolution) }
                }
            }
        }
    }

    private func recordExpired(_ recipient: StoredMessage.RecipientState, attempt: MessageAttempt) {
        let days = Double(config.delivery.maxLifetimeSeconds) / 86_400
        let last = recipient.lastResponse.isEmpty ? "" : "; last error: \(recipient.lastResponse)"
        let reply = SMTPReply(554, EnhancedStatusCode(5, 4, 7),
                              "message expired after \(days < 1 ? "\(config.delivery.maxLifetimeSeconds) seconds" : "\(Int(days)) days") in the queue\(last)")
        let bounceClass = recipient.lastBounceClass.isEmpty ? BounceClass.timeout.rawValue : recipient.lastBounceClass
        attempt.record(MessageAttempt.Recorded(
            result: SpoolCommand.RecipientResult(recipient: recipient.address, disposition: .bounced, smtpCode: 554,
                                                 enhancedCode: "5.4.7", response: reply.description,
                                                 remoteHost: recipient.lastRemoteHost, bounceClass: bounceClass),
            reply: reply, hard: true, expired: true, bounceClass: BounceClass(rawValue: bounceClass),
            // The last deferral's class (a MAIL FROM or connection reply never gets an address class).
            suppressesRecipient: BounceClass(rawValue: bounceClass)?.namesAddress ?? false))
    }

    /// Decides and records the result of `address` from `reply`.
    /// `localAbort`: this node ended the attempt itself (`LocalAbort`): a short local retry.
    /// `acceptedRecipients`: how many recipients the receiver accepted in the transaction `reply` came
    /// from (`SMTPClientSession.TransactionResult.acceptedRecipients`; 0 when none or not from one).
    private func record(_ address: String, _ reply: SMTPReply, isLocal: Bool, stage: SMTPClientSession.Stage? = nil,
                        acceptedRecipients: Int = 0, remoteHost: String, attempt: MessageAttempt, now: Int64, localClass: BounceClass? = nil,
                        notifyPassedOn: Bool = false, sendingIP: String = "", pool: String = "", localAbort: Bool = false) {
        let queuedAt = Double(attempt.message.receivedAt) / 1000
        var decision = localAbort
            ? DeliveryDecision.localAbort(recipient: address, reply: reply, queuedAt: queuedAt, now: Double(now) / 1000,
                                          schedule: schedule, using: &random)
            : DeliveryDecision.decide(recipient: address, reply: reply, isLocal: isLocal, stage: stage,
                                      failedAttempts: Int(attempt.number), queuedAt: queuedAt,
                                      now: Double(now) / 1000, schedule: schedule, using: &random)
        if let localClass, isLocal, decision.classification != nil {
            // A failure we detected ourselves (connect, TLS) is classified by what happened, not by
            // the wording of the synthetic reply.
            decision.classification?.bounceClass = localClass
        }
        let disposition: SpoolCommand.Disposition
        switch decision.verdict {
        case .delivered: disposition = .delivered
        case .deferred(let until): disposition = .deferred(until: Int64((until * 1000).rounded(.up)))
        case .bounced: disposition = .bounced
        }
        attempt.record(MessageAttempt.Recorded(
            result: SpoolCommand.RecipientResult(recipient: address, disposition: disposition,
                                                 smtpCode: UInt16(clamping: max(0, reply.code)),
                                                 enhancedCode: decision.enhancedCode ?? "",
                                                 response: StoredReply.bounded(decision.response, maxBytes:
                                                     StoredReply.perRecipientLimit(recipients: attempt.message.recipients.count)),
                                                 remoteHost: remoteHost, bounceClass: decision.bounceClass ?? "",
                                                 sendingIP: sendingIP, pool: pool),
            reply: reply, hard: decision.classification?.hardness == .hard, expired: decision.expired,
            bounceClass: decision.classification?.bounceClass, notifyPassedOn: notifyPassedOn,
            suppressesRecipient: (decision.expired ? decision.classification?.suppressesRecipientOnExpiry
                                                   : decision.classification?.suppressesRecipient(
                                                       acceptedRecipients: isLocal ? 0 : acceptedRecipients,
                                                       enhancedCode: reply.enhancedCode))
                                 ?? false,
            localAbort: localAbort))
    }

    // MARK: Routing and connections

    private func routed(_ job: DeliveryJob, _ resolution: DeliveryRoute.Resolution) {
        switch resolution {
        case .failure(let reply):
            finish(job, failure: reply, remoteHost: "")
        case .route(let route):
            job.use(route)
            tryNext(job)
        }
    }

    /// `released`: the job comes from the head of its rate limiter's waiting line (see
    /// `waitForToken`), so it may take the next token before the jobs behind it.
    func tryNext(_ job: DeliveryJob, released: Bool = false) {
        guard let route = job.route else { return }
        let now = options.clock()
        let seconds = Double(now) / 1000
        guard now + commitMarginMillis < job.attempt.leaseExpiresAt else {
            // Another node may own the message now; its outcome would be refused as stale anyway.
            if let failure = job.lastFailure {
                // Hosts already failed in this attempt (a failover was under way): their failure is
                // the receiver's answer, recorded as such (parking and the retry schedule learn it).
                parkingJobFailed(job, now: seconds)
                finish(job, failure: failure.reply, remoteHost: failure.remoteHost, localClass: failure.localClass,
                       stage: failure.stage)
            } else {
                abortLocally(job, .leaseExpiredBeforeSending, remoteHost: "")
            }
            return
        }
        let sourcePool = poolName(job, route: route)
        while job.candidateIndex < job.candidates.count {
            let candidate = job.candidates[job.candidateIndex]
            let source: String?
            switch sourceAddress(for: candidate.address, pool: sourcePool, provider: route.provider, now: seconds,
                                 isFailover: job.failedOver, isRetry: job.attempt.number > 1) {
            case .systemDefault:
                source = nil
            case .address(let address):
                source = address
            case .unavailable:
                let inPool = sourcePool == Self.defaultPool ? "" : " in pool \(sourcePool)"
                finish(job, failure: SMTPReply(451, EnhancedStatusCode(4, 7, 0),
                                               "no source address\(inPool) may send to \(route.provider.rawValue) now (warm-up caps, blocks, or cold addresses for a retry)"),
                       remoteHost: "", localClass: .rateLimited)
                return
            case .noAddressOfFamily:
                if job.lastFailure == nil {
                    let family = candidate.address.contains(":") ? "IPv6" : "IPv4"
                    job.lastFailure = (SMTPReply(451, EnhancedStatusCode(4, 4, 0),
                                                 "pool \(sourcePool) has no \(family) source address for \(candidate.host.name)[\(candidate.address)]"),
                                       "\(candidate.host.name)[\(candidate.address)]:\(candidate.host.port)", nil, nil)
                }
                job.candidateIndex += 1
                continue
            }
            let throttleKey = DeliveryCoordinator.throttleKey(route.provider, host: candidate.host.name, source: source)
            let breakerKey = "\(candidate.address):\(candidate.host.port)"
            let circuitOpen = { () -> (reply: SMTPReply, remoteHost: String, localClass: BounceClass?, stage: SMTPClientSession.Stage?) in
                (SMTPReply(451, EnhancedStatusCode(4, 4, 1),
                           "\(candidate.host.name)[\(candidate.address)]: host skipped after repeated failures (circuit open)"),
                 "\(candidate.host.name)[\(candidate.address)]:\(candidate.host.port)", .timeout, nil)
            }
            if case .open = breakers[breakerKey]?.state(now: seconds) {
                // Refused below anyway: skip without waiting for a rate-limiter token (during an
                // outage the deferrals would otherwise queue at the provider's shaped rate).
                if job.lastFailure == nil { job.lastFailure = circuitOpen() }
                job.candidateIndex += 1
                continue
            }
            let base = options.shaping.policy(for: route.provider)
            let scope = DeliveryCoordinator.throttleScope(route.provider, host: candidate.host.name)
            guard let policy = deferrals.apply(base, to: route.provider, scope: scope, source: source, now: seconds) else {
                let until: String
                if case .suspended(let end) = deferrals.status(route.provider, scope: scope, source: source, now: seconds) {
                    until = " for \(Int(end - seconds)) s"
                } else {
                    until = ""
                }
                finish(job, failure: SMTPReply(451, EnhancedStatusCode(4, 7, 0),
                                               "delivery to \(route.provider.rawValue) paused\(until) after rate limiting (local throttle)"),
                       remoteHost: "")
                return
            }
            if !route.isStatic || options.rateLimitStaticRoutes {
                // Jobs already wait for this limiter: queue behind them (first come, first served).
                guard released || limiterWaiters[throttleKey]?.isEmpty ?? true else {
                    limiterWaiters[throttleKey, default: FairLine()].append(job, fresh: isFresh(job))
                    return
                }
                var limiter = rateLimiters[throttleKey] ?? RateLimiter(rate: policy.messagesPerSecond,
                                                                      burst: max(1, policy.messagesPerSecond), now: seconds)
                if limiter.rate != policy.messagesPerSecond {
                    limiter.reconfigure(rate: policy.messagesPerSecond, burst: max(1, policy.messagesPerSecond), now: seconds)
                }
                let acquired = limiter.tryAcquire(now: seconds)
                let wait = acquired ? 0 : limiter.delay(now: seconds)
                rateLimiters[throttleKey] = limiter
                guard acquired else {
                    waitForToken(job, key: throttleKey, delay: wait, atFront: released)
                    return
                }
            }
            // Last, so that an allowed half-open probe is always followed by a real attempt.
            var breaker = breakers[breakerKey] ?? CircuitBreaker(failureThreshold: options.breakerThreshold,
                                                                 openDuration: options.breakerOpenSeconds,
                                                                 maxOpenDuration: options.breakerMaxOpenSeconds)
            let probing = breaker.state(now: seconds) == .halfOpen
            let allowed = breaker.allowAttempt(now: seconds)
            breakers[breakerKey] = breaker
            job.probeHost = allowed && probing ? breakerKey : nil
            guard allowed else {
                if job.lastFailure == nil { job.lastFailure = circuitOpen() }
                job.candidateIndex += 1
                continue
            }
            let hostKey = "\(candidate.host.name):\(candidate.host.port)"
            var tlsPolicy = route.tlsPolicy
            if tlsPolicy == .opportunistic, job.plaintextHosts.contains(hostKey) || (brokenTLS[hostKey] ?? 0) > seconds {
                tlsPolicy = .none
            }
            let key = ConnectionPool.Key(hostName: candidate.host.name, address: candidate.address, port: candidate.host.port,
                                         source: source, tlsPolicy: tlsPolicy, implicitTLS: route.implicitTLS,
                                         username: route.credentials?.username)
            let maxPerConnection = policy.maxMessagesPerConnection
            pool.acquire(key, limit: policy.maxConnections, factory: { [unowned self] in
                self.makeConnection(key, route: route)
            }, { [unowned self] connection in
                self.send(job, on: connection, key: key, maxPerConnection: maxPerConnection)
            })
            return
        }
        let failure = job.lastFailure
        parkingJobFailed(job, now: seconds)
        finish(job, failure: failure?.reply ?? SMTPReply(451, EnhancedStatusCode(4, 4, 0), "\(job.domain): no host could be tried"),
               remoteHost: failure?.remoteHost ?? "", localClass: failure == nil ? .timeout : failure?.localClass,
               stage: failure?.stage)
    }

    /// Which local address to send from.
    private enum SourceChoice {
        /// The default pool has no address of this family: let the kernel choose.
        case systemDefault
        case address(String)
        /// The pool has addresses but none may send now.
        case unavailable
        /// A named pool has no address of this family: skip the destination address (the pool's
        /// mail never leaves from another address).
        case noAddressOfFamily
    }

    /// Source pool by user name, for the users that name one.
    static func userPools(_ users: [RelayConfig.User]) -> [String: String] {
        Dictionary(users.compactMap { user in user.pool.map { (user.name, $0) } }, uniquingKeysWith: { first, _ in first })
    }

    /// Takes the users of a reloaded configuration (their source pools). Never blocks.
    func updateUsers(_ users: [RelayConfig.User]) {
        let pools = Self.userPools(users)
        queue.async { self.userPools = pools }
    }

    /// Name of the pool built from `delivery.sourceAddresses` (and unpooled warm-up addresses).
    static let defaultPool = DeliveryEngine.Options.defaultPool

    /// The source pool of `job`: its route's, else its sender's (`users[].pool`, else its API-managed
    /// credential's `sourcePool`), else the default.
    private func poolName(_ job: DeliveryJob, route: DeliveryRoute) -> String {
        route.pool ?? userPools[job.attempt.message.authUser] ?? options.credentialPool?(job.attempt.message.authUser)
            ?? Self.defaultPool
    }

    /// Picks the source address from `pool` for a connection to `address` through `IPWarmup`:
    /// blocked and capped addresses are skipped, deprioritised ones used last, cold ones never for
    /// failover, nor for retries while the pool has a warm address of the family.
    private func sourceAddress(for address: String, pool: String, provider: Provider, now: Double,
                               isFailover: Bool, isRetry: Bool) -> SourceChoice {
        let key = pool + (address.contains(":") ? "/v6" : "/v4")
        guard let sources = warmup.pools[key] else {
            // A pool this engine was not started with (e.g. named by a reloaded user): never let
            // the kernel choose for it, which would send the pool's mail from another address.
            return pool == Self.defaultPool ? .systemDefault : .unavailable
        }
        guard !sources.isEmpty else { return pool == Self.defaultPool ? .systemDefault : .noAddressOfFamily }
        var chosen = warmup.choose(pool: key, provider: provider, now: now, isFailover: isFailover || isRetry)
        if chosen == nil, isRetry, !isFailover, !warmup.hasWarmAddress(pool: key, now: now) {
            // A pool still wholly warming up: its retries use its cold addresses (within their caps),
            // or its deferred mail could never leave.
            chosen = warmup.choose(pool: key, provider: provider, now: now, isFailover: false)
        }
        guard let chosen else { return .unavailable }
        return .address(chosen)
    }

    private func makeConnection(_ key: ConnectionPool.Key, route: DeliveryRoute) -> SMTPClientConnection {
        let loop = loops[loopIndex % loops.count]
        loopIndex &+= 1
        var sessionConfig = SMTPClientSession.Configuration(heloName: heloName, tlsPolicy: key.tlsPolicy,
                                                            implicitTLS: key.implicitTLS, credentials: route.credentials)
        sessionConfig.useChunking = true
        // Address text was produced by the resolver or validated as a literal; fall back to a
        // never-listening address so the failure is reported as a connect error.
        let address = (try? SocketAddress(ip: key.address, port: key.port)) ?? (try! SocketAddress(ip: "0.0.0.0", port: 1))
        let source = key.source.flatMap { try? SocketAddress(ip: $0, port: 0) }
        let target = SMTPClientConnection.Target(hostName: key.hostName, address: address, source: source,
                                                 session: sessionConfig, plainContext: plainTLS, verifyContext: verifyTLS,
                                                 reportContext: route.mtaSTS?.mode == .testing ? reportTLS : nil,
                                                 connectTimeout: options.connectTimeout, replyTimeoutCap: options.replyTimeoutCap,
                                                 idleTimeout: options.idleTimeout)
        let connection = SMTPClientConnection(target: target, loop: loop)
        let queue = self.queue
        let pool = self.pool
        // The closure is dropped when it runs (at close), which breaks the reference cycle.
        connection.onClosed = {
            queue.async { pool.closed(key, connection) }
        }
        return connection
    }

    private func send(_ job: DeliveryJob, on connection: SMTPClientConnection, key: ConnectionPool.Key, maxPerConnection: Int) {
        let transaction = job.transaction
        let gate = commitGate(job.attempt)
        transactionsSent += 1
        connection.loop.execute {
            connection.submit(transaction, mayCommit: gate) { report in
                self.queue.async {
                    self.handle(report, job: job, connection: connection, key: key, maxPerConnection: maxPerConnection)
                }
            }
        }
    }

    private func handle(_ report: SMTPClientConnection.Report, job: DeliveryJob, connection: SMTPClientConnection,
                        key: ConnectionPool.Key, maxPerConnection: Int) {
        let now = options.clock()
        let seconds = Double(now) / 1000
        let remoteHost = connection.target.remoteHost
        if report.staleConnection {
            transactionsSent -= 1
            job.staleRetries += 1
            // The host said nothing: the half-open probe this job took for it is free again.
            if let probe = job.probeHost {
                breakers[probe]?.releaseProbe()
                job.probeHost = nil
            }
            if job.staleRetries <= 5 {
                tryNext(job)
            } else {
                finish(job, failure: SMTPReply(451, EnhancedStatusCode(4, 4, 2), "\(remoteHost): connections keep closing"),
                       remoteHost: remoteHost)
            }
            return
        }
        pool.release(key, connection, reusable: report.reusable && report.transactions < maxPerConnection && !stopping)
        let breakerKey = "\(key.address):\(key.port)"
        var connectionFailure: SMTPReply?
        var failureStage: SMTPClientSession.Stage?
        var localClass: BounceClass?
        if let failure = report.connectFailure {
            connectionFailure = BounceClassifier.syntheticReply(for: failure, host: remoteHost)
            localClass = BounceClassifier().classify(failure).bounceClass
        } else if let failure = report.failure, [.greeting, .hello, .startTLS, .auth].contains(failure.stage) {
            // A remote reply stays as received, so that it is classified (and reported) as the
            // receiver wrote it; the event names the host in `remoteHost`.
            connectionFailure = failure.isLocal ? prefixed(failure.reply, "\(remoteHost): ") : failure.reply
            failureStage = failure.stage
            if failure.stage == .startTLS || (failure.isLocal && failure.reply.enhancedCode == EnhancedStatusCode(4, 7, 4)) {
                localClass = .tlsFailure // refused, failed or missing STARTTLS under a TLS-requiring policy
            } else if failure.isLocal, failure.reply.enhancedCode?.subject == 4 {
                localClass = .timeout
            }
            if failure.stage == .auth, failure.reply.isPermanent {
                connectionFailure = SMTPReply(454, EnhancedStatusCode(4, 7, 0),
                                              "authentication with the smart host failed: \(remoteHost) said: \(failure.reply)")
                localClass = .authFailure
            }
        } else if !report.result.bodyTransmitted, !report.result.recipients.isEmpty,
                  report.result.recipients.allSatisfy({ $0.reply.code == 421 || ($0.isLocal && report.failure != nil) }) {
            let first = report.result.recipients[0]
            connectionFailure = first.isLocal ? prefixed(first.reply, "\(remoteHost): ") : first.reply
            failureStage = first.stage
            if first.isLocal { localClass = .timeout }
        }
        recordTLSOutcome(report, job: job, key: key)
        if let reply = connectionFailure, localClass == .tlsFailure, let route = job.route {
            connectionFailure = mtaSTSReply(reply, route: route, domain: job.domain)
        }
        if let reply = connectionFailure {
            if report.connectFailure == nil, report.failure.map({ !$0.isLocal }) ?? false || report.result.recipients.contains(where: { !$0.isLocal }) {
                let classification = BounceClassifier().classify(reply)
                if classification.isThrottleSignal {
                    throttleSignal(classification, host: key.hostName, source: key.source, provider: job.route?.provider ?? .other, now: seconds)
                }
            }
            breakers[breakerKey, default: CircuitBreaker(failureThreshold: options.breakerThreshold,
                                                         openDuration: options.breakerOpenSeconds,
                                                         maxOpenDuration: options.breakerMaxOpenSeconds)].recordFailure(now: seconds)
            if report.failure?.retryWithoutTLS == true {
                let hostKey = "\(key.hostName):\(key.port)"
                brokenTLS[hostKey] = seconds + options.brokenTLSSeconds
                if !job.plaintextHosts.contains(hostKey) {
                    job.plaintextHosts.insert(hostKey)
                    logSink("info", "delivery.tls_broken", [("host", remoteHost), ("reply", reply.description)])
                    tryNext(job)
                    return
                }
            }
            job.lastFailure = (reply, remoteHost, localClass, failureStage)
            job.failedOver = true
            job.candidateIndex += 1
            logSink("info", "delivery.failover", [("queueId", job.attempt.queueID), ("host", remoteHost), ("reply", reply.description)])
            tryNext(job)
            return
        }
        // The receiver took part in the whole dialogue (a body the commit gate held back included).
        breakers[breakerKey]?.recordSuccess(now: seconds)
        parkingJobSucceeded(job)
        if let source = key.source, report.result.bodyTransmitted, !report.bodyHeldBack { warmup.recordSent(source, now: seconds) }
        for result in report.result.recipients {
            // The recipients the receiver accepted end with the held-back body (the session's local
            // "lost connection during body"): recorded by `abortLocally` below. Its other replies stay.
            if report.bodyHeldBack, result.isLocal, result.stage == .body { continue }
            if !result.isLocal, !result.reply.isPositive {
                let classification = BounceClassifier().classify(result.reply)
                if classification.isThrottleSignal {
                    throttleSignal(classification, host: key.hostName, source: key.source, provider: job.route?.provider ?? .other, now: seconds)
                }
            }
            record(result.address, result.reply, isLocal: result.isLocal, stage: result.stage,
                   acceptedRecipients: report.result.acceptedRecipients, remoteHost: remoteHost,
                   attempt: job.attempt, now: now, notifyPassedOn: report.receiverDSN,
                   sendingIP: key.source ?? "", pool: job.route.map { poolName(job, route: $0) } ?? "")
        }
        if report.bodyHeldBack {
            abortLocally(job, .leaseTooShortForBody, remoteHost: remoteHost)
        } else {
            finish(job, failure: nil, remoteHost: remoteHost)
        }
    }

    /// Reacts to a rate-limit or reputation reply (see `ProviderDeferrals`): a rate limit slows the
    /// provider; an IP block slows this source for the provider and moves the provider's traffic to
    /// the pool's other addresses (this one blocked for it after a permanent block).
    private func throttleSignal(_ classification: BounceClassification, host: String, source: String?,
                                provider: Provider, now: Double) {
        let scope = DeliveryCoordinator.throttleScope(provider, host: host)
        let reaction = deferrals.record(classification, provider: provider, scope: scope, source: source, now: now)
        guard let source, case .avoidSource(let blocked, let until) = reaction else { return }
        if blocked {
            warmup.block(source, for: provider, until: until)
        } else {
            warmup.deprioritise(source, for: provider, until: until)
        }
    }

    /// Ends `job`: recipients without a result get `failure` (a local reply).
    /// `stage`: the SMTP stage `failure` was received at (a connection-level reply), nil when local.
    /// `localAbort`: this node ended the attempt itself (see `abortLocally`).
    private func finish(_ job: DeliveryJob, failure: SMTPReply?, remoteHost: String, localClass: BounceClass? = nil,
                        stage: SMTPClientSession.Stage? = nil, localAbort: Bool = false) {
        let now = options.clock()
        let reply = failure ?? SMTPReply(451, EnhancedStatusCode(4, 3, 0), "no result for this recipient")
        for recipient in job.transaction.recipients where !job.attempt.hasResult(recipient.address) {
            record(recipient.address, reply, isLocal: true, stage: stage, remoteHost: remoteHost, attempt: job.attempt, now: now,
                   localClass: localClass, localAbort: localAbort)
        }
        job.attempt.pendingJobs -= 1
        if job.attempt.pendingJobs == 0 { finish(job.attempt) }
    }

    /// Ends `job` for a reason of this node (`LocalAbort`), not the receiver's: its recipients
    /// without a result are deferred for the short local retry, and it is logged as local. No
    /// failure is counted against the host (breaker, parking), and no throttle signal or warm-up
    /// send comes of it (see `tryNext` and `handle`).
    private func abortLocally(_ job: DeliveryJob, _ reason: LocalAbort, remoteHost: String) {
        logSink("info", "delivery.local_abort", [("queueId", job.attempt.queueID), ("attempt", String(job.attempt.number)),
                                                  ("domain", job.domain), ("reason", reason.rawValue), ("remoteHost", remoteHost)])
        finish(job, failure: reason.reply, remoteHost: remoteHost, localClass: reason.bounceClass, localAbort: true)
    }

    // MARK: Outcomes

    /// Times an outcome refused for want of a leader is proposed again (every 0.5 s).
    static let maxOutcomeRetries = 60

    private func finish(_ attempt: MessageAttempt) {
        let now = options.clock()
        let outcome = SpoolCommand.Outcome(queueID: attempt.queueID, attempt: attempt.number, timestamp: now,
                                           results: attempt.recorded.map(\.result))
        log.propose(.outcome(outcome)) { result in
            self.queue.async { self.recorded(attempt, result) }
        }
    }

    private func recorded(_ attempt: MessageAttempt, _ result: Result<UInt64, StoreError>) {
        // An outcome that could not commit for want of a leader (a leader change, a short
        // partition) is proposed again while the attempt may still be the current one: the state
        // machine takes it as long as no other node claimed the message. Dropping it would have the
        // message delivered again.
        if case .failure(let error) = result, error.code == .unavailable, !stopping,
           attempt.outcomeRetries < Self.maxOutcomeRetries {
            attempt.outcomeRetries += 1
            logSink("info", "delivery.outcome_retry", [("queueId", attempt.queueID), ("error", error.description),
                                                      ("retry", String(attempt.outcomeRetries))])
            queue.asyncAfter(deadline: .now() + 0.5) { self.finish(attempt) }
            return
        }
        inFlight[attempt.queueID] = nil
        parking.attemptEnded(attempt.queueID)
        defer {
            checkDrained()
            wake()
        }
        if case .failure(let error) = result {
            logSink("warning", "delivery.outcome_refused", [("queueId", attempt.queueID), ("error", error.description)])
            return
        }
        for entry in attempt.recorded {
            NodeMetrics.shared.outcome(Self.metricsOutcome(entry.result.disposition), tenant: attempt.message.tenant,
                                       provider: Provider.recognize(mxHost: entry.result.remoteHost).rawValue)
            // Deliveries are in the events store already; log them only at debug to keep the hot path lean.
            let level = entry.result.disposition == .delivered ? "debug" : "info"
            logSink(level, "delivery.\(eventName(entry.result.disposition))",
                    [("queueId", attempt.queueID), ("recipient", entry.result.recipient), ("attempt", String(attempt.number)),
                     ("remoteHost", entry.result.remoteHost), ("response", entry.result.response)])
        }
        suppressHardBounces(attempt)
        sendNotifications(attempt)
    }

    private func eventName(_ disposition: SpoolCommand.Disposition) -> String {
        switch disposition {
        case .delivered: return "delivered"
        case .deferred: return "deferred"
        case .bounced: return "bounced"
        case .suppressed: return "suppressed"
        }
    }

    /// Bounces that say something about the address put it on the tenant's list: an unknown mailbox
    /// or domain refused at RCPT TO, before any session, or at DATA or after the message of a transaction
    /// that accepted only that recipient (`BounceClassification.suppressesRecipient(acceptedRecipients:)`),
    /// or a temporary refusal of the address itself that lasted the whole queue lifetime
    /// (`suppressesRecipientOnExpiry`). Any other expiry (an outage, a rate limit, an IP block) bounces
    /// the message and suppresses nobody.
    private func suppressHardBounces(_ attempt: MessageAttempt) {
        let now = options.clock()
        for entry in attempt.recorded where entry.result.disposition == .bounced && entry.hard {
            guard entry.suppressesRecipient else { continue }
            let reason = entry.expired ? "expired" : "hard-bounce"
            let suppression = SpoolCommand.Suppression(tenant: attempt.message.tenant, address: entry.result.recipient,
                                                       reason: reason, createdAt: now)
            log.propose(.suppress(suppression)) { result in
                if case .failure(let error) = result {
                    self.logSink("warning", "delivery.suppress_failed", [("recipient", suppression.address), ("error", error.description)])
                }
            }
        }
    }

    /// Enqueues a DSN to the envelope sender for recipients whose NOTIFY asks for one.
    private func sendNotifications(_ attempt: MessageAttempt) {
        let message = attempt.message
        guard !message.sender.isEmpty, !message.flags.contains(.isBounce) else { return }
        let now = options.clock()
        var outcomes: [DSNBuilder.RecipientOutcome] = []
        for entry in attempt.recorded {
            guard let state = attempt.recipientState(entry.result.recipient), !state.notify.contains(.never) else { continue }
            let wanted: Bool
            switch entry.result.disposition {
            case .bounced: wanted = state.notify.contains(.failure) || (state.notify.isEmpty && options.notifyByDefault)
            case .delivered: wanted = state.notify.contains(.success) && !entry.notifyPassedOn
            case .deferred: wanted = state.notify.contains(.delay) && attempt.number == 1 && !entry.localAbort
            case .suppressed: wanted = state.notify.contains(.failure)
            }
            guard wanted else { continue }
            var retryUntil: Double?
            if case .deferred = entry.result.disposition {
                retryUntil = Double(message.receivedAt) / 1000 + Double(config.delivery.maxLifetimeSeconds)
            }
            var outcome = DSNBuilder.RecipientOutcome(
                recipient: entry.result.recipient,
                originalRecipient: DeliveryCoordinator.orcpt(state.originalRecipient),
                reply: entry.reply, remoteMTA: entry.result.remoteHost.isEmpty ? nil : entry.result.remoteHost,
                lastAttempt: Double(now) / 1000, willRetryUntil: retryUntil)
            // RFC 3461 6.2.3.3: handed to a receiver that does not do DSN.
            if entry.result.disposition == .delivered { outcome.action = .relayed }
            outcomes.append(outcome)
        }
        guard !outcomes.isEmpty else { return }
        let original = DSNBuilder.Original(queueID: message.queueID, mailFrom: message.sender,
                                           envelopeID: message.dsnEnvelopeID.isEmpty ? nil : message.dsnEnvelopeID,
                                           ret: message.dsnReturn == .headers ? .headers : (message.dsnReturn == .full ? .full : nil),
                                           arrivalDate: Double(message.receivedAt) / 1000, message: attempt.body)
        let notification: DSNBuilder.Notification
        do {
            notification = try dsnBuilder.build(original: original, outcomes: outcomes, now: Double(now) / 1000)
        } catch {
            logSink("warning", "delivery.dsn_failed", [("queueId", message.queueID), ("error", error.description)])
            return
        }
        var messageID = notification.messageID
        if messageID.hasPrefix("<"), messageID.hasSuffix(">") { messageID = String(messageID.dropFirst().dropLast()) }
        let enqueue = SpoolCommand.Enqueue(
            queueID: "\(message.queueID)-dsn\(attempt.number)", messageID: messageID, tenant: message.tenant,
            sender: "", recipients: [SpoolCommand.Recipient(address: notification.recipient)], receivedAt: now,
            bodyType: SMTPBody.containsEightBit(notification.message) ? .eightBitMIME : .sevenBit,
            flags: [.isBounce], body: notification.message)
        log.propose(.enqueue(enqueue)) { result in
            switch result {
            case .success: self.wake()
            case .failure(let error):
                self.logSink("warning", "delivery.dsn_enqueue_failed", [("queueId", message.queueID), ("error", error.description)])
            }
        }
    }

    private func checkDrained() {
        if inFlight.isEmpty, let drained {
            self.drained = nil
            drained.signal()
        }
    }

    // MARK: Helpers

    /// `reply` with `prefix` before its text (one line), unless it starts with it already.
    private func prefixed(_ reply: SMTPReply, _ prefix: String) -> SMTPReply {
        guard !reply.text.hasPrefix(prefix) else { return reply }
        return SMTPReply(code: reply.code, enhancedCode: reply.enhancedCode, lines: [prefix + reply.text])
    }

    /// Rate-limit and throttle scope: a recognised provider is shaped as a whole; any other
    /// receiver per host, so one slow receiver does not slow the rest.
    static func throttleScope(_ provider: Provider, host: String) -> String {
        provider == .other ? host.lowercased() : provider.rawValue
    }

    /// The local rate limiter's key: per source address within the scope.
    static func throttleKey(_ provider: Provider, host: String, source: String?) -> AdaptiveThrottle.Key {
        ProviderDeferrals.sourceKey(provider, scope: throttleScope(provider, host: host), source: source)
    }

    /// The lowercased domain of an address ("" when it has none).
    static func domain(of address: String) -> String {
        guard let at = address.utf8.lastIndex(of: UInt8(ascii: "@")) else { return "" }
        return String(address[address.utf8.index(after: at)...]).lowercased()
    }

    static func notify(_ notify: SpoolCommand.Notify) -> [SMTPClientSession.DSNNotify]? {
        guard !notify.isEmpty else { return nil }
        if notify.contains(.never) { return [.never] }
        var out: [SMTPClientSession.DSNNotify] = []
        if notify.contains(.success) { out.append(.success) }
        if notify.contains(.failure) { out.append(.failure) }
        if notify.contains(.delay) { out.append(.delay) }
        return out
    }

    /// The address part of an ORCPT value (`rfc822;user@example.org` → `user@example.org`).
    static func orcpt(_ value: String) -> String? {
        guard !value.isEmpty else { return nil }
        if let semicolon = value.firstIndex(of: ";") { return String(value[value.index(after: semicolon)...]) }
        return value
    }
}
