import DNSService
import DeliveryEngine
import Dispatch
import Foundation
import NetworkIO
import Registry
import RelayConfig
import SendarixSupport
import SpoolStore
import Synchronization

/// Sends the webhook outbox: for every endpoint this node owns (rendezvous over the cluster's live
/// members; a single node owns all), leases due pending calls through the log, POSTs them signed
/// (Standard Webhooks) over the event loops, and records each attempt's result through the log.
///
/// A call is sent only under a committed lease of this process; a node that dies mid-call leaves
/// a lease that expires (`webhooks.leaseSeconds`), after which the new owner sends it again with
/// the same `webhook-id`: at most the calls in flight are sent twice. Runs on its own thread
/// (claims wait for commits; DNS lookups block); HTTP I/O runs on the loops (`HTTPClientExchange`).
final class WebhookDispatcher: @unchecked Sendable {
    // Safe: `state`, `signingKeys` and `targets` are touched only on the dispatcher thread;
    // results cross threads through `done`.
    let config: RelayConfig.Webhooks
    let store: SpoolStore
    let log: any ReplicatedLog
    let nodeID: String
    let loops: [EventLoop]
    let logger: NodeLogger
    let schedule: WebhookRetrySchedule
    /// The member that should send `key`'s calls (nil: no cluster view; then nobody sends).
    let preferredOwner: @Sendable (String) -> String?
    let incarnation = UInt64.random(in: 1...UInt64.max)
    private let resolver: DNSResolver?
    private let tlsContext: TLSContext?
    private let wake = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)
    private let done = Mutex<[(String, WebhookCommand.Result)]>([])
    /// Results of POSTs of batch records (log entry format 5), one per POST.
    private let doneBatches = Mutex<[(String, WebhookCommand.BatchResult)]>([])
    private var state: [String: EndpointState] = [:]
    private var loopIndex = 0
    /// The endpoints' signing keys, made once per secret. Dispatcher thread only.
    private var signingKeys = WebhookSigningKeys()
    /// The endpoints' URLs, parsed once per URL. Dispatcher thread only.
    private var targets = WebhookTargetCache()
    /// When a round must run at the latest (ms since the epoch): the deadline of calls waiting
    /// for their batch to fill. Dispatcher thread only.
    var wakeBy = Int64.max
    /// Kept-alive connections to receivers, one pool per loop (each used on its loop only).
    private let pools: [WebhookConnectionPool]

    /// One POST under a committed lease of this process, waiting for a free slot: a call alone,
    /// or a batch (all its calls, in sequence order).
    struct Leased {
        var calls: [WebhookCall]
        var attempt: UInt32
        var expiresAt: Int64
        /// The batch's `webhook-id`; nil for a call sent alone (a JSON object body).
        var batchID: String?
        /// The first sequence of the batch record it was leased by (log entry format 5); nil for
        /// calls leased by per-call commands.
        var record: UInt64? = nil
    }

    /// Calls leased in one claim: a few rounds of the endpoint's concurrency, so that the commit
    /// of a lease does not gate every slot that frees up.
    static func leaseBatch(concurrency: Int) -> Int { min(256, 4 * max(1, concurrency)) }

    /// Per-endpoint dispatch state on this node.
    struct EndpointState {
        /// Sequences sent and not answered yet.
        var inFlight: Set<UInt64> = []
        /// POSTs sent and not answered yet, by their first sequence (what the concurrency counts).
        var inFlightPosts: Set<UInt64> = []
        /// Sequences answered whose results are proposed and not yet committed (not sent again,
        /// not counted against the concurrency).
        var recording: Set<UInt64> = []
        /// Calls leased to this process and not sent yet, oldest event first.
        var queue: [Leased] = []
        /// Token bucket for `ratePerSecond`.
        var tokens: Double = 0
        var refilledAt: Int64 = 0
    }

    init(config: RelayConfig, store: SpoolStore, log: any ReplicatedLog, nodeID: String, loops: [EventLoop],
         logger: NodeLogger, preferredOwner: @escaping @Sendable (String) -> String?) {
        self.config = config.webhooks
        self.store = store
        self.log = log
        self.nodeID = nodeID
        self.loops = loops
        self.logger = logger
        self.preferredOwner = preferredOwner
        self.pools = loops.map { _ in WebhookConnectionPool() }
        self.schedule = WebhookRetrySchedule(delaysMillis: config.webhooks.retryScheduleMillis.map(Int64.init),
                                             jitter: config.webhooks.retryJitter)
        self.resolver = try? DNSResolver(nameservers: config.resolver.nameservers.map(\.description))
        if let ca = config.webhooks.caFile {
            tlsContext = try? TLSContext(clientVerification: .caFile(ca))
        } else if let ca = ProcessInfo.processInfo.environment["SENDARIX_TEST_CA_FILE"] {
            tlsContext = try? TLSContext(clientVerification: .caFile(ca))
        } else {
            tlsContext = try? TLSContext(clientVerification: .systemTrust)
        }
    }

    /// Starts the dispatcher thread (named `webhooks` in `top -H`).
    func start() {
        let t = Thread { [self] in
            ThreadPriority.name("webhooks")
            run()
        }
        t.name = "webhooks"
        t.start()
    }

    /// Stops the thread (calls in flight finish or time out on the loops; their results are
    /// dropped and their leases expire). Blocks until the thread ended.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        wake.signal()
        _ = stopped.wait(timeout: .now() + 5)
    }

    private func run() {
        let poll = Double(config.pollMillis) / 1000
        while !stopping.load(ordering: .relaxed) {
            // The results and the next lease go into the log together (one commit for both).
            let recorded = flushResults()
            do { try dispatchDue() } catch { logger.log(.warning, "webhook dispatch failed", ["error": "\(error)"]) }
            recorded()
            // Calls waiting for their batch to fill (`webhooks.batch.maxDelayMillis`) go at their deadline.
            let wait = min(poll, max(0.001, Double(wakeBy - WallClock.nowMillis()) / 1000))
            wakeBy = .max
            if wake.wait(timeout: .now() + wait) == .success { coalesce() }
        }
        stopped.signal()
    }

    /// How long a round waits after the first finished call for more to finish (see `coalesce`).
    static let coalesceMillis = 5

    /// After a finished call woke the thread: waits up to `coalesceMillis` until half of the
    /// calls in flight have finished, so that one round records many results and leases many
    /// calls (two log entries for a batch, not for each call). Calls are a few ms late at most.
    private func coalesce() {
        let inFlight = state.values.reduce(0) { $0 + $1.inFlightPosts.count }
        let target = max(1, inFlight / 2)
        let deadline = DispatchTime.now() + .milliseconds(Self.coalesceMillis)
        while !stopping.load(ordering: .relaxed), done.withLock({ $0.count }) + doneBatches.withLock({ $0.count }) < target {
            guard wake.wait(timeout: deadline) == .success else { return }
        }
    }

    /// Proposes the results gathered since the last round, one command per endpoint, without
    /// waiting for their commit (unless one is a 410); returns the wait, after which those calls
    /// are no longer ours.
    private func flushResults() -> () -> Void {
        let batch = done.withLock { list -> [(String, WebhookCommand.Result)] in
            defer { list.removeAll() }
            return list
        }
        // Batch results wait while the cluster writes entries below format 5 (they would be lost).
        let batchPosts = log.entryFormat < 5 ? [] : doneBatches.withLock { list -> [(String, WebhookCommand.BatchResult)] in
            defer { list.removeAll() }
            return list
        }
        guard !batch.isEmpty || !batchPosts.isEmpty else { return {} }
        var byEndpoint: [String: [WebhookCommand.Result]] = [:]
        for (id, r) in batch { byEndpoint[id, default: []].append(r) }
        var postsByEndpoint: [String: [WebhookCommand.BatchResult]] = [:]
        for (id, r) in batchPosts { postsByEndpoint[id, default: []].append(r) }
        var commands: [(String, WebhookCommand)] = []
        for (id, results) in byEndpoint {
            updateState(id) { s in
                for r in results {
                    s.inFlight.remove(r.sequence)
                    s.inFlightPosts.remove(r.sequence)
                    s.recording.insert(r.sequence)
                }
            }
            commands.append((id, .results(WebhookCommand.Results(endpoint: id, owner: nodeID, incarnation: incarnation,
                                                                 results: results))))
        }
        for (id, results) in postsByEndpoint {
            updateState(id) { s in
                for r in results {
                    s.inFlightPosts.remove(r.first)
                    for seq in r.sequences {
                        s.inFlight.remove(seq)
                        s.recording.insert(seq)
                    }
                }
            }
            commands.append((id, .batchResults(WebhookCommand.BatchResults(endpoint: id, owner: nodeID, incarnation: incarnation,
                                                                           results: results))))
        }
        let committed = DispatchGroup()
        for (id, command) in commands {
            committed.enter()
            log.propose(.registry(.webhook(command))) { [self, logger] outcome in
                if case .failure(let e) = outcome, e.context == SpoolCommand.formatGateContext,
                   case .batchResults(let r) = command {
                    // The format dropped below 5 since: proposed again once it is back.
                    self.requeueBatchResults(r.results, endpoint: id)
                } else if case .failure(let e) = outcome, e.code != .invalidCommand {
                    logger.log(.warning, "webhook results not recorded", ["endpoint": id, "error": "\(e)"])
                }
                committed.leave()
            }
        }
        // A 410 disables its endpoint: nothing more may be sent there, so that result is committed
        // before the next lease is asked for.
        if batch.contains(where: { if case .gone = $0.1.verdict { true } else { false } })
            || batchPosts.contains(where: { if case .gone = $0.1.verdict { true } else { false } }) {
            _ = committed.wait(timeout: .now() + 10)
        }
        return { [self] in
            _ = committed.wait(timeout: .now() + 10)
            // Recorded or stale (or timed out: the lease expires): either way no longer ours.
            for (id, results) in byEndpoint {
                updateState(id) { s in for r in results { s.recording.remove(r.sequence) } }
            }
            for (id, results) in postsByEndpoint {
                updateState(id) { s in for r in results { for seq in r.sequences { s.recording.remove(seq) } } }
            }
        }
    }

    /// Changes endpoint `id`'s state, if it has one, in place: taken out of `state` while it
    /// changes, so that its sets are not copied (a copy read out of the dictionary shares them,
    /// and the first change would copy each one whole). Dispatcher thread.
    private func updateState(_ id: String, _ change: (inout EndpointState) -> Void) {
        guard var s = state.removeValue(forKey: id) else { return }
        change(&s)
        state[id] = s
    }

    /// Puts batch results back to be proposed again (their proposal was refused below format 5).
    /// Until then their calls count as busy (`heldSequences`). Any thread.
    func requeueBatchResults(_ results: [WebhookCommand.BatchResult], endpoint id: String) {
        doneBatches.withLock { $0 += results.map { (id, $0) } }
    }

    /// The calls of endpoint `id` whose batch was answered and whose result is not proposed yet
    /// (held while the cluster writes below format 5, or put back after a refused proposal): not
    /// leased or sent again while their result waits, though their lease may have expired (the
    /// same batch would go out again under the same id). Any thread.
    func heldSequences(_ id: String) -> Set<UInt64> {
        doneBatches.withLock { list in
            var out = Set<UInt64>()
            for (endpoint, r) in list where endpoint == id { out.formUnion(r.sequences) }
            return out
        }
    }

    private func dispatchDue() throws {
        let now = WallClock.nowMillis()
        let endpoints = try store.webhookEndpoints()
        let known = Set(endpoints.map(\.id))
        signingKeys.keep(only: known)
        for id in state.keys where !known.contains(id) && state[id]!.inFlight.isEmpty && state[id]!.recording.isEmpty {
            state[id] = nil
        }
        for e in endpoints where !e.paused && !e.disabled {
            // Taken out while it changes (see `updateState`).
            var s = state.removeValue(forKey: e.id) ?? EndpointState()
            defer { state[e.id] = s }
            guard preferredOwner("webhook:" + e.id) == nodeID else {
                s.queue = []  // another member sends them once these leases expired
                continue
            }
            guard now >= holds.withLock({ $0[e.id]?.until ?? 0 }) else { continue }
            // A leased call is sent only if its answer can come back while the lease holds; the
            // others wait for the lease to expire and are leased again.
            let margin = Int64(config.timeoutSeconds * 1000) + 1000
            s.queue.removeAll { $0.expiresAt - margin <= now }
            var capacity = e.maxConcurrency - s.inFlightPosts.count
            if e.ratePerSecond > 0 {
                let rate = Double(e.ratePerSecond)
                s.tokens = min(rate, s.tokens + Double(now - s.refilledAt) / 1000 * rate)
                s.refilledAt = now
                capacity = min(capacity, Int(s.tokens))
            }
            guard capacity > 0 else { continue }
            let maxEvents = e.batchMaxEvents ?? config.batch.maxEvents
            if s.queue.count < capacity {
                if log.entryFormat >= 5 {
                    try leaseBatchRecords(e, state: &s, now: now, capacity: capacity, maxEvents: maxEvents, margin: margin)
                } else {
                    try leaseCalls(e, state: &s, now: now, capacity: capacity, maxEvents: maxEvents, margin: margin, due: nil)
                }
            }
            let sending = s.queue.prefix(capacity)
            s.queue.removeFirst(sending.count)
            for q in sending {
                for c in q.calls { s.inFlight.insert(c.sequence) }
                s.inFlightPosts.insert(q.calls[0].sequence)
                if e.ratePerSecond > 0 { s.tokens -= 1 }
                send(q, endpoint: e)
            }
        }
    }

    /// Due calls cut into POSTs: batches already formed (retries, takeovers) as they were, when
    /// all their calls are due; calls never sent in batches of up to `maxEvents`; calls already
    /// attempted alone stay alone. At most `posts` POSTs and `limit` calls, oldest event first
    /// (what is leased is sent at once: a batch does not wait in a queue while its lease runs).
    /// Pure.
    static func batches(_ due: [WebhookCall], maxEvents: Int, limit: Int, posts: Int) -> [[WebhookCall]] {
        var units: [(first: UInt64, calls: [WebhookCall])] = []
        var formed: [String: [WebhookCall]] = [:]
        var fresh: [WebhookCall] = []
        for c in due {
            if let b = c.batch {
                formed[b.id, default: []].append(c)
            } else if c.attempts == 0 {
                fresh.append(c)
            } else {
                units.append((c.sequence, [c]))
            }
        }
        for (_, calls) in formed where UInt32(calls.count) == calls[0].batch!.size {
            units.append((calls[0].sequence, calls))
        }
        var at = 0
        while at < fresh.count {
            let chunk = Array(fresh[at..<min(fresh.count, at + maxEvents)])
            units.append((chunk[0].sequence, chunk))
            at += chunk.count
        }
        units.sort { $0.first < $1.first }
        var out: [[WebhookCall]] = []
        var total = 0
        for u in units where out.count < posts {
            guard total + u.calls.count <= limit || out.isEmpty else { break }
            out.append(u.calls)
            total += u.calls.count
        }
        return out
    }

    /// Leased calls as POSTs: the calls of a batch together, the others alone.
    static func posts(_ calls: [WebhookCall]) -> [Leased] {
        var out: [Leased] = []
        var byBatch: [String: Int] = [:]
        for c in calls {
            let lease = c.lease!
            guard let b = c.batch else {
                out.append(Leased(calls: [c], attempt: lease.attempt, expiresAt: lease.expiresAt, batchID: nil))
                continue
            }
            if let i = byBatch[b.id] {
                out[i].calls.append(c)
            } else {
                byBatch[b.id] = out.count
                out.append(Leased(calls: [c], attempt: lease.attempt, expiresAt: lease.expiresAt, batchID: b.id))
            }
        }
        // A batch is leased whole; one that is not (it cannot be) is not sent under that id.
        return out.filter { q in q.batchID == nil || UInt32(q.calls.count) == q.calls[0].batch!.size }
    }

    /// When due calls should go if they wait for more to join their batch (nil: go now): only while
    /// the endpoint has a POST in flight, fewer than `maxEvents` are due, and the oldest has waited
    /// less than `maxDelay` ms (then until it has). A lone call on an idle endpoint goes at once. Pure.
    static func batchDeadline(oldest: Int64, due: Int, inFlight: Bool, maxEvents: Int, maxDelay: Int64, now: Int64) -> Int64? {
        guard maxDelay > 0, maxEvents > 1, inFlight, due > 0, due < maxEvents, now - oldest < maxDelay else { return nil }
        return oldest + maxDelay
    }

    /// Resolves, checks (SSRF), signs and POSTs one call or batch; the results land in `done`.
    private func send(_ post: Leased, endpoint e: WebhookEndpoint) {
        let started = WallClock.nowMillis()
        let id = e.id
        let calls = post.calls, attempt = post.attempt, batchRecord = post.record
        let finish: @Sendable (WebhookHTTPCall.Answer) -> Void = { [self] answer in
            record(calls, attempt: attempt, batchRecord: batchRecord, endpoint: id, started: started, answer: answer)
        }
        guard let target = targets.target(e.url) else {
            return finish(.init(status: 0, snippet: "not an http(s) URL: \(e.url)"))
        }
        let addresses: [String]
        if IPAddress(target.host) != nil {
            addresses = [target.host]
        } else if let resolver {
            let r = resolver.resolveHost(target.host)
            addresses = r.addresses
            if addresses.isEmpty {
                return finish(.init(status: 0, snippet: "\(target.host): " + (r.temporaryFailure ?? (r.nxdomain ? "NXDOMAIN" : "no address"))))
            }
        } else {
            return finish(.init(status: 0, snippet: "no DNS resolver"))
        }
        // Every address must be allowed: a name may not smuggle in a private one.
        for a in addresses {
            guard let ip = IPAddress(a) else { return finish(.init(status: 0, snippet: "bad address \(a)")) }
            if let why = WebhookTarget.refusal(ip, allowed: config.allowedPrivateNetworks) {
                return finish(.init(status: 0, snippet: why))
            }
        }
        guard let address = try? SocketAddress(ip: addresses[0], port: target.port) else {
            return finish(.init(status: 0, snippet: "bad address \(addresses[0])"))
        }
        if target.tls && tlsContext == nil { return finish(.init(status: 0, snippet: "no TLS client context")) }
        let body = post.batchID == nil ? SpoolStore.webhookBodyBytes(calls[0]) : SpoolStore.webhookBatchBody(calls)
        let webhookID = post.batchID ?? calls[0].webhookID
        let timestamp = started / 1000
        let signature = WebhookSigner.header(keys: signingKeys.keys(e, at: started), id: webhookID,
                                             timestamp: timestamp, body: body)
        let request = WebhookHTTPCall.request(target: target, webhookID: webhookID, timestamp: timestamp,
                                              signature: signature, body: body)
        let http = HTTPClientExchange(host: target.host, request: request, context: target.tls ? tlsContext : nil,
                                      timeout: config.timeoutSeconds, maxBodyBytes: WebhookHTTPCall.maxBodyBytes) { result in
            finish(WebhookHTTPCall.answer(result))
        }
        loopIndex = (loopIndex + 1) % loops.count
        let loop = loops[loopIndex]
        let pool = pools[loopIndex]
        let key = (target.tls ? "https|" : "http|") + target.host + "|" + addresses[0] + "|" + String(target.port)
        http.onReusable = { connection in pool.put(connection, key: key) }
        loop.execute {
            http.reuse = pool.take(key)
            http.start(to: address, loop: loop)
        }
    }

    /// Turns an answer into the attempt's verdict and queues it for every call of the POST (a
    /// batch shares one verdict, so its calls stay due together). Any thread.
    private func record(_ calls: [WebhookCall], attempt: UInt32, batchRecord: UInt64?, endpoint: String, started: Int64,
                        answer: WebhookHTTPCall.Answer) {
        let now = WallClock.nowMillis()
        let verdict: WebhookCommand.Verdict
        switch answer.status {
        case 200...299:
            verdict = .delivered
            WebhookMetrics.deliveredCalls.add(calls.count, ordering: .relaxed)
        case 410:
            verdict = .gone
            WebhookMetrics.failedAttempts.add(1, ordering: .relaxed)
        default:
            WebhookMetrics.failedAttempts.add(1, ordering: .relaxed)
            switch schedule.afterFailure(attempt: attempt, now: now, retryAfterMillis: answer.retryAfterMillis,
                                         random: Double.random(in: 0..<1)) {
            case .retry(let at): verdict = .retry(at: at)
            case .giveUp: verdict = .exhausted
            }
        }
        let attemptRecord = WebhookCall.Attempt(attempt: attempt, at: now, status: answer.status, latencyMillis: now - started,
                                                response: String(answer.snippet.prefix(WebhookHTTPCall.snippetBytes)), node: nodeID)
        if let first = batchRecord {
            // One result for the whole batch record (log entry format 5).
            let result = WebhookCommand.BatchResult(first: first, sequences: calls.map(\.sequence), attempt: attemptRecord,
                                                    verdict: verdict)
            doneBatches.withLock { $0.append((endpoint, result)) }
        } else {
            let results = calls.map { (endpoint, WebhookCommand.Result(sequence: $0.sequence, attempt: attemptRecord, verdict: verdict)) }
            done.withLock { $0 += results }
        }
        switch verdict {
        case .delivered: holds.withLock { $0[endpoint] = nil }
        case .retry(let at): hold(endpoint, retryAt: at, now: now, retryAfter: answer.retryAfterMillis != nil)
        case .gone, .exhausted: break
        }
        wake.signal()
    }

    /// After failures in a row the endpoint gets no new calls for a while: 0.5 s, 1 s, 2 s … up to
    /// a minute, or until the failed call is due again if that is sooner. A receiver that is down
    /// is probed, not flooded; one event that always fails does not hold the others back for its
    /// whole schedule. A success ends the pause. A `Retry-After` holds the whole endpoint until then.
    private let holds = Mutex<[String: (until: Int64, streak: Int)]>([:])
    static let maxHoldMillis: Int64 = 60_000

    private func hold(_ endpoint: String, retryAt: Int64, now: Int64, retryAfter: Bool) {
        holds.withLock { h in
            let streak = (h[endpoint]?.streak ?? 0) + 1
            let pause = retryAfter ? retryAt - now : min(Self.maxHoldMillis, Int64(250) << Int64(min(streak, 8)))
            h[endpoint] = (until: max(h[endpoint]?.until ?? 0, min(retryAt, now + pause)), streak: streak)
        }
    }

    func proposeAndWait(_ command: SpoolCommand) -> Result<UInt64, StoreError> {
        log.proposeBlocking(command, timeout: 10)
    }
}
