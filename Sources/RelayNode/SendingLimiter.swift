import Foundation
import Registry
import RelayConfig
import SMTPCore
import SpoolStore
import SendarixSupport
import Synchronization

/// The limits and abuse shell (issue 11): keeps a `LimitLedger` and an `AbuseDetector` behind a
/// lock, answers the SMTP sessions' admission checks (MAIL, RCPT) and session opens, counts accepted
/// messages, and every `sendingLimits.syncMillis` proposes this node's usage through the replicated
/// log and reads back the other nodes' usage, the suspensions and the tenants' limits.
///
/// Subjects are abstract (tenant + user name): limits of a credential come from `credentialLimits`
/// (config-file users today; registry credentials plug in there). Thread-safe; the checks take a
/// lock for microseconds and never block on I/O.
final class SendingLimiter: Sendable {
    /// Refusals and detections so far on this node (for metrics).
    struct Metrics: Sendable, Equatable {
        var connectionsRefused = 0, ratesRefused = 0, recipientsRefused = 0, suspendedRefused = 0
        var alerts = 0, suspensions = 0, reportsProposed = 0
    }

    struct State {
        var ledger: LimitLedger
        var detector: AbuseDetector
        var suspensions: [String: CredentialSuspension] = [:]
        var tenantLimits: [String: SendingLimits] = [:]
        var metrics = Metrics()
    }

    let config: RelayConfig
    let store: SpoolStore
    let log: any ReplicatedLog
    let logger: NodeLogger
    private let users: [String: RelayConfig.User]
    private let state: Mutex<State>
    private let queue = DispatchQueue(label: "sendarix.limits")
    /// Touched only on `queue` (start, stop).
    nonisolated(unsafe) private var timer: DispatchSourceTimer?
    private let clock: @Sendable () -> Int64

    init(config: RelayConfig, store: SpoolStore, log: any ReplicatedLog, logger: NodeLogger,
         clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) {
        self.config = config
        self.store = store
        self.log = log
        self.logger = logger
        self.clock = clock
        var users: [String: RelayConfig.User] = [:]
        for u in config.users { users[u.name] = u }
        self.users = users
        state = Mutex(State(ledger: LimitLedger(node: config.node.id), detector: AbuseDetector(settings: config.abuse.detectorSettings)))
    }

    // MARK: Lifecycle

    /// Reads the stored state once and starts the periodic sync. Blocks briefly (LMDB reads).
    func start() {
        refresh()
        queue.sync {
            let t = DispatchSource.makeTimerSource(queue: queue)
            let interval = DispatchTimeInterval.milliseconds(config.sendingLimits.syncMillis)
            t.schedule(deadline: .now() + interval, repeating: interval)
            t.setEventHandler { [weak self] in self?.sync() }
            t.resume()
            timer = t
        }
    }

    /// Stops the periodic sync. Any thread but the sync queue.
    func stop() { queue.sync { timer?.cancel(); timer = nil } }

    /// Counters so far. Any thread.
    var metrics: Metrics { state.withLock { $0.metrics } }

    /// Every stored suspension, sorted. Any thread.
    var suspensions: [CredentialSuspension] {
        state.withLock { Array($0.suspensions.values) }.sorted { ($0.tenant, $0.username) < ($1.tenant, $1.username) }
    }

    /// Cluster-wide usage of a subject key (`tenant/T`, `credential/T/U`) as this node sees it. Any thread.
    func totals(_ key: String) -> LimitLedger.Totals {
        let now = clock()
        return state.withLock { $0.ledger.totals(key, now: now) }
    }

    // MARK: Session hooks (any thread; the SMTP loops call these)

    /// A session authenticated as `user` of `tenant` from `ip`: counts it against the
    /// concurrent-session limits (a refusal means `421 4.7.0` and close) and shows the login to
    /// the abuse detector. On success returns the keys to release with `sessionClosed`.
    func sessionAuthenticated(user: String, tenant: String?, ip: String) -> Result<[String], LimitRefusal> {
        let subject = LimitSubject(tenant: tenant ?? "default", username: user)
        let now = clock()
        let rules = self.rules(subject)
        let (outcome, alerts): (Result<[String], LimitRefusal>, [AbuseDetector.Alert]) = state.withLock { s in
            let alerts = config.abuse.action == .off ? [] : s.detector.login(subject, ip: ip, now: now)
            guard !rules.isEmpty else { return (.success([]), alerts) }
            if let r = s.ledger.openConnection(rules, now: now) {
                s.metrics.connectionsRefused += 1
                return (.failure(r), alerts)
            }
            return (.success(rules.map(\.key)), alerts)
        }
        handle(alerts)
        if case .failure(let r) = outcome {
            logger.log(.warning, "limit exceeded", ["tenant": subject.tenant, "user": user, "client": ip, "limit": r.description])
        }
        return outcome
    }

    /// A session counted by `sessionAuthenticated` ended.
    func sessionClosed(keys: [String]) {
        guard !keys.isEmpty else { return }
        state.withLock { $0.ledger.closeConnection(keys: keys) }
    }

    /// The admission check the SMTP sessions ask at MAIL and RCPT.
    func admit(_ check: SMTPSession.AdmissionCheck) -> SMTPSession.AdmissionRefusal? {
        let now = clock()
        switch check {
        case .mail(let user, let tenant):
            guard let user else { return nil }
            let subject = LimitSubject(tenant: tenant ?? "default", username: user)
            let rules = self.rules(subject)
            let (suspension, refusal): (CredentialSuspension?, LimitRefusal?) = state.withLock { s in
                if let susp = s.suspensions[Self.suspensionKey(subject.tenant, user)] {
                    s.metrics.suspendedRefused += 1
                    return (susp, nil)
                }
                guard !rules.isEmpty, let r = s.ledger.admitMessage(rules, now: now) else { return (nil, nil) }
                s.metrics.ratesRefused += 1
                return (nil, r)
            }
            if let suspension {
                logger.log(.warning, "suspended credential refused", ["tenant": subject.tenant, "user": user, "reason": suspension.reason])
                return SMTPSession.AdmissionRefusal(code: 550, enhancedCode: "5.7.1",
                                                    text: "Credential \(user) is suspended (\(suspension.reason)); contact the operator")
            }
            return refusal.map { refused($0, subject) }
        case .recipient(let user, let tenant, let accepted):
            guard let user else { return nil }
            let subject = LimitSubject(tenant: tenant ?? "default", username: user)
            let rules = self.rules(subject)
            guard !rules.isEmpty else { return nil }
            let refusal: LimitRefusal? = state.withLock { s in
                guard let r = s.ledger.admitRecipient(rules, inMessage: accepted, now: now) else { return nil }
                if r.kind == .recipientsPerMessage { s.metrics.recipientsRefused += 1 } else { s.metrics.ratesRefused += 1 }
                return r
            }
            return refusal.map { refused($0, subject) }
        }
    }

    /// A message of `user` of `tenant` was queued for `recipients`.
    func accepted(user: String?, tenant: String?, recipients: [String]) {
        guard let user else { return }
        let subject = LimitSubject(tenant: tenant ?? "default", username: user)
        let now = clock()
        let rules = self.rules(subject)
        let alerts: [AbuseDetector.Alert] = state.withLock { s in
            if !rules.isEmpty { s.ledger.recordMessage(keys: rules.map(\.key), recipients: recipients.count, now: now) }
            return config.abuse.action == .off ? [] : s.detector.message(subject, recipients: recipients, now: now)
        }
        handle(alerts)
    }

    /// A delivery outcome of a message from `user` of `tenant` (bounced: a bounce or a block).
    func outcome(user: String, tenant: String, bounced: Bool) {
        guard config.abuse.action != .off else { return }
        let subject = LimitSubject(tenant: tenant, username: user)
        let now = clock()
        let alerts = state.withLock { $0.detector.outcome(subject, bounced: bounced, now: now) }
        handle(alerts)
    }

    // MARK: Operators

    /// Suspends a credential (operator action). Blocks until committed.
    func suspend(tenant: String, username: String, reason: String, by: String) -> Result<Void, StoreError> {
        let s = CredentialSuspension(tenant: tenant, username: username, reason: reason, by: by, at: clock())
        let r = commit(.suspend(s))
        if case .success = r { state.withLock { $0.suspensions[Self.suspensionKey(tenant, username)] = s } }
        return r
    }

    /// Lifts a suspension (operator action). Blocks until committed.
    func lift(tenant: String, username: String, by: String) -> Result<Void, StoreError> {
        let r = commit(.lift(tenant: tenant, username: username, by: by, at: clock()))
        if case .success = r { state.withLock { _ = $0.suspensions.removeValue(forKey: Self.suspensionKey(tenant, username)) } }
        return r
    }

    // MARK: Internals

    static func suspensionKey(_ tenant: String, _ user: String) -> String { tenant + "/" + user }

    /// The limits that apply to `subject`: its tenant's (control plane, else the file) and its
    /// credential's. Empty when neither has any.
    func rules(_ subject: LimitSubject) -> [LimitLedger.Rule] {
        var out: [LimitLedger.Rule] = []
        let tenant = state.withLock { $0.tenantLimits[subject.tenant] } ?? config.sendingLimits.tenants[subject.tenant]
        if let tenant, !tenant.isEmpty { out.append(LimitLedger.Rule(key: subject.tenantKey, limits: tenant)) }
        if let key = subject.credentialKey, let c = credentialLimits(subject), !c.isEmpty {
            out.append(LimitLedger.Rule(key: key, limits: c))
        }
        return out
    }

    /// A credential's own limits: the config-file user's, else the API-managed credential's (when it
    /// belongs to the subject's tenant). One LMDB read for a managed credential.
    func credentialLimits(_ subject: LimitSubject) -> SendingLimits? {
        guard let name = subject.username else { return nil }
        if let u = users[name] { return u.tenant == subject.tenant ? u.limits : nil }
        guard Credential.isValidUsername(name),
              let c = (try? store.registryRecord(RegistryKeys.credential(name)))??.credential, c.tenant == subject.tenant
        else { return nil }
        return c.limits
    }

    private func refused(_ r: LimitRefusal, _ subject: LimitSubject) -> SMTPSession.AdmissionRefusal {
        logger.log(.warning, "limit exceeded", ["tenant": subject.tenant, "user": subject.username ?? "", "limit": r.description])
        let reply = r.reply
        return SMTPSession.AdmissionRefusal(code: reply.code, enhancedCode: reply.enhancedCode, text: reply.text)
    }

    /// Acts on detector alerts: an event, or a suspension (effective here at once, everywhere once committed).
    private func handle(_ alerts: [AbuseDetector.Alert]) {
        guard !alerts.isEmpty else { return }
        let now = clock()
        for a in alerts {
            let user = a.subject.username ?? ""
            logger.log(.warning, "credential alert", ["tenant": a.subject.tenant, "user": user, "signal": a.signal.rawValue,
                                                      "detail": a.detail, "action": config.abuse.action.rawValue])
            let command: LimitsCommand
            if config.abuse.action == .suspend {
                let s = CredentialSuspension(tenant: a.subject.tenant, username: user, reason: a.detail, by: "detector", at: now)
                let fresh: Bool = state.withLock { st in
                    st.metrics.alerts += 1
                    guard st.suspensions[Self.suspensionKey(s.tenant, user)] == nil else { return false }
                    st.suspensions[Self.suspensionKey(s.tenant, user)] = s
                    st.metrics.suspensions += 1
                    return true
                }
                guard fresh else { continue }
                command = .suspend(s)
            } else {
                state.withLock { $0.metrics.alerts += 1 }
                command = .alert(tenant: a.subject.tenant, username: user, reason: a.detail, at: a.at)
            }
            queue.async { [self] in
                log.propose(.registry(.limits(command))) { [logger] r in
                    if case .failure(let e) = r, e.code != .invalidCommand {
                        logger.log(.warning, "credential alert not recorded", ["error": e.description])
                    }
                }
            }
        }
    }

    /// One sync round: propose this node's usage when it changed, then read the shared state.
    private func sync() {
        let now = clock()
        let clustered = !config.cluster.peers.isEmpty
        let report: NodeUsage? = state.withLock { s in
            guard let r = s.ledger.report(now: now) else { return nil }
            // Alone, nobody needs the counters: only refusals are worth an event.
            guard clustered || !r.exceeded.isEmpty else { return nil }
            s.metrics.reportsProposed += 1
            return r
        }
        if let report {
            log.propose(.registry(.limits(.usage(report)))) { [logger] r in
                if case .failure(let e) = r { logger.log(.debug, "usage report not committed", ["error": e.description]) }
            }
        }
        refresh()
    }

    /// Reads the other nodes' usage, the suspensions and the tenants' limits from the store.
    private func refresh() {
        let usage = ((try? store.registryRecords(prefix: RegistryKeys.usagePrefix)) ?? []).compactMap(\.usage)
        let suspended = ((try? store.registryRecords(prefix: RegistryKeys.suspensionPrefix)) ?? []).compactMap(\.suspension)
        let tenants = ((try? store.registryRecords(prefix: RegistryKeys.tenantPrefix)) ?? []).compactMap(\.tenant)
        let now = clock()
        state.withLock { s in
            for u in usage { s.ledger.absorb(u) }
            var map: [String: CredentialSuspension] = [:]
            for x in suspended { map[Self.suspensionKey(x.tenant, x.username)] = x }
            // A suspension made here moments ago may not be committed yet: keep it meanwhile.
            for (k, v) in s.suspensions where map[k] == nil && now - v.at < 5_000 { map[k] = v }
            s.suspensions = map
            var limits: [String: SendingLimits] = [:]
            for t in tenants { if let l = t.limits { limits[t.name] = l } }
            s.tenantLimits = limits
        }
    }

    private func commit(_ command: LimitsCommand) -> Result<Void, StoreError> {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<UInt64, StoreError>?>(nil)
        log.propose(.registry(.limits(command))) { r in
            result.withLock { $0 = r }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }.map { _ in () }
    }
}
