import CSystemShims
import ClusterLog
import DNSService
import DeliveryEngine
import Foundation
import Glibc
import NetworkIO
import RelayConfig
import SpoolStore

/// One Sendarix node: opens the spool, starts the event loops, SMTP listeners and the admin API,
/// and runs until SIGTERM/SIGINT (graceful drain) while SIGHUP reloads the TLS certificate and the
/// config file's users.
///
/// Create it on the main thread and call `run()`, which blocks until shutdown.
public final class RelayNode {
    /// The configuration in force.
    public let config: RelayConfig
    /// Logs.
    public let logger: NodeLogger
    private let configPath: String?
    private var loops: [EventLoop] = []
    private var store: SpoolStore?
    private var log: LocalLog?
    private var raftLog: RaftLog?
    private var smtp: SMTPServer?
    private var admin: AdminServer?
    private var delivery: DeliveryEngine?
    private var health: ClusterHealth?
    private var dnsServer: DNSServer?
    private var domains: SendingDomains?
    private var sendingLimits: SendingLimiter?
    private var webhooks: WebhookDispatcher?
    private var simulator: ReceiverSimulator?
    private let tls = TLSContextHolder(nil)
    private var certificatePaths: (String, String)?

    /// Creates a node for `config` (already validated). `configPath` is kept for messages.
    public init(config: RelayConfig, configPath: String?) {
        self.config = config
        self.configPath = configPath
        self.logger = NodeLogger(level: NodeLogger.Level(name: config.log.level.rawValue))
    }

    /// The host name used in greetings and Received headers.
    var hostname: String {
        if let h = config.node.hostname, !h.isEmpty { return h }
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, 255)
        return String(nulTerminated: buffer)
    }

    /// Starts everything, then blocks handling signals until shutdown. Returns the exit status.
    public func run() throws -> Int32 {
        _ = sx_ignore_sigpipe()
        // Block lifecycle signals before any thread starts so they all inherit the mask.
        let signalFD = sx_signalfd_for_lifecycle()
        try start()
        logger.log(.info, "ready", ["node": config.node.id, "hostname": hostname])
        defer { if signalFD >= 0 { close(signalFD) } }
        while true {
            var pfd = pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)
            let n = poll(&pfd, 1, -1)
            if n < 0 && errno == EINTR { continue }
            let sig = sx_signalfd_read(signalFD)
            switch sig {
            case SIGHUP:
                reload()
            case SIGTERM, SIGINT:
                shutdown()
                return 0
            case SIGUSR1:
                // A follower received the leader's spool snapshot: restart in place so it is
                // installed before the spool opens (the spool cannot be swapped while running).
                // Open sessions get 421 at once instead of the 30 s drain: until the snapshot is
                // installed this node applies nothing, so they could only wait, and an idle client
                // holding a session would hold back the install (clients retry on another node).
                logger.log(.info, "restarting to install the spool snapshot from the leader")
                shutdown(drainSeconds: 0)
                RelayNode.reexec()
                return 1
            default:
                continue
            }
        }
    }

    /// Replaces this process with a fresh copy of itself (same arguments). Returns only on failure.
    static func reexec() {
        let argv = CommandLine.arguments.map { strdup($0) } + [nil]
        _ = sx_reexec(argv)
        for a in argv { free(a) }
    }

    /// Opens the spool and binds every listener. Blocks until listening.
    public func start() throws {
        let fm = FileManager.default
        let dataDir = config.node.dataDir
        try fm.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        raiseOpenFileLimit()
        try prepareTLS(dataDir: dataDir)

        var options = SpoolStore.Options()
        options.mapSize = config.spool.mapSizeMB << 20
        options.maxMapSize = config.spool.effectiveMaxMapSizeMB << 20
        options.durable = config.spool.fsync
        if let n = ProcessInfo.processInfo.environment["SENDARIX_EVENT_INDEX_BATCH"].flatMap(Int.init) { options.eventIndexBatch = n }  // A/B measurements
        if let n = ProcessInfo.processInfo.environment["SENDARIX_BODY_SEGMENT"].flatMap(Int.init) { options.bodySegmentSize = n }  // A/B (4080: old chunks)
        if ProcessInfo.processInfo.environment["SENDARIX_DEFER_COUNTS"] == "0" { options.deferEventCounts = false }  // A/B
        if !config.cluster.peers.isEmpty,
           try RaftLog.installPendingSnapshot(raftDirectory: dataDir + "/raft", spoolDirectory: dataDir + "/spool",
                                              logSink: { [logger] level, event, fields in
                                                  logger.log(NodeLogger.Level(name: level), event,
                                                             fields: fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
                                              }) {
            logger.log(.info, "installed the spool snapshot received from the leader")
        }
        let store = try SpoolStore(directory: dataDir + "/spool", options: options)
        self.store = store
        store.onMapGrown(SpoolAdmission.mapGrown(logger, maxMB: config.spool.effectiveMaxMapSizeMB))
        let log: any ReplicatedLog
        var raftPeer: String?
        let commitNice = commitThreadNice()
        if config.cluster.peers.isEmpty {
            let local = try LocalLog(store: store, options: LocalLog.Options(writerNice: commitNice))
            self.log = local
            log = local
        } else {
            let logger = self.logger
            var raftOptions = try RaftLog.Options(config: config)
            raftOptions.onSnapshotReady = { kill(getpid(), SIGUSR1) }
            raftOptions.commitNice = commitNice
            let raft = try RaftLog(options: raftOptions, store: store) { level, event, fields in
                logger.log(NodeLogger.Level(name: level), event, fields: fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            }
            raftPeer = try raft.start()
            raftLog = raft
            log = raft
        }

        let loopCount = max(1, min(4, ProcessInfo.processInfo.activeProcessorCount))
        for i in 0..<loopCount {
            let loop = try EventLoop(name: "loop-\(i)")
            loop.start()
            loops.append(loop)
        }
        // A cluster node's raft map keeps queued bodies too (cluster.bodiesInLog): refuse new mail
        // before it fills, as for the spool, so deliveries and deletes can still commit.
        let raftSpace: (@Sendable () -> Int?)? = raftLog.map { raft in
            let reader = raft.logBodyReader
            return { reader.availableBytes() }
        }
        let admission = SpoolAdmission(base: log, store: store, reserve: config.spool.effectiveReserveMB << 20,
                                       lowSpace: SpoolAdmission.warning(logger, reserveMB: config.spool.effectiveReserveMB),
                                       otherAvailable: raftSpace)
        let domains = try SendingDomains(config: config, store: store, log: log, logger: logger)
        self.domains = domains
        let sendingLimits = SendingLimiter(config: config, store: store, log: log, logger: logger)
        sendingLimits.start()
        self.sendingLimits = sendingLimits
        let feedback = try FeedbackProcessor(config: config, store: store, log: admission, logger: logger, hostname: hostname)
        let smtp = SMTPServer(config: config, hostname: hostname, log: admission, logger: logger, tls: tls, loops: loops,
                              domains: domains, sendingLimits: sendingLimits, feedback: feedback)
        let credentials = Credentials(store: store, log: log, logger: logger)
        smtp.authenticator.credentials = credentials
        self.smtp = smtp
        var bound: [String: Any] = [:]
        let listening = try smtp.start()
        for (kind, addresses) in listening { bound[kind.rawValue] = addresses }
        let simulated = try RelayNode.startSimulator(config, feedback: feedback, relay: listening[.relay]?.first, logger: logger)
        simulator = simulated?.0
        if config.delivery.enabled {
            let logger = self.logger
            var options = RelayNode.deliveryOptions(config)
            options.credentialPool = { user in user.isEmpty ? nil : credentials.record(user)?.sourcePool }
            options.hooks = RelayNode.deliveryHooks(config, feedback: feedback, simulator: simulated?.0)
            if let raft = raftLog {
                // Cluster: each node delivers the domains it owns (rendezvous over live members)
                // plus messages whose lease expired and nobody took over.
                options.preferredOwner = { [weak raft] domain in raft?.preferredOwner(for: domain) }
            }
            let engineLog: any ReplicatedLog = config.abuse.action == .off ? log
                : OutcomeObservingLog(base: log, store: store, limits: sendingLimits)
            let engine = DeliveryEngine(config: RelayNode.deliveryConfig(config, simulatorPort: simulated?.1), nodeID: config.node.id,
                                        hostname: hostname, store: store,
                                        log: engineLog, loops: loops, options: options) { level, event, fields in
                logger.log(NodeLogger.Level(name: level), event, fields: fields)
            }
            // In a cluster the member that owns a destination is woken by every member's new mail
            // as it applies it, not only by mail it accepted itself (else up to a 30 s idle poll).
            // Set before the start, so nothing applied in between is missed (a wake before the
            // engine runs does nothing; its first pass sees what was applied).
            raftLog?.onNewWork { [weak engine] in engine?.wake() }
            try engine.start()
            delivery = engine
            smtp.setDelivery(engine)
            feedback.delivery.withLock { $0 = engine }
        }
        let draining: @Sendable () -> Bool = { [weak smtp] in smtp?.isDraining ?? true }
        if config.listen.peer != nil || !config.cluster.peers.isEmpty {
            let health = ClusterHealth(config: config, loop: loops[0], draining: draining)
            if let raft = raftLog {
                let me = config.node.id
                health.quorumCheck = { [weak raft] in
                    guard let raft else { return false }
                    let s = raft.status()
                    return s.hasQuorum && s.voters.contains(me)
                }
            }
            // With raft the peer port belongs to the transport, which answers the same health line.
            if let peer = try health.start(listen: raftLog == nil ? config.listen.peer?.description : nil) {
                bound["peer"] = peer
            }
            if let raftPeer { bound["peer"] = raftPeer }
            self.health = health
        }
        if let dns = config.dns, !config.listen.dns.isEmpty {
            let server = try RelayNode.makeDNSServer(config, dns: dns, zone: try RelayNode.makeZone(config, dns: dns, health: health))
            dnsServer = server
            bound["dns"] = server.boundAddresses.map { "\($0)" }
            logger.log(.info, "listening", ["service": "dns", "zone": dns.zone,
                                            "address": server.boundAddresses.map { "\($0)" }.joined(separator: ",")])
            scheduleZoneRefresh(dns: dns, loop: loops[0])
        }
        if let adminAddress = config.listen.admin {
            let engineRef = delivery
            let admin = AdminServer(config: config, store: store, logger: logger, nodeID: config.node.id,
                                    isDraining: draining, health: health, log: log,
                                    onRescheduled: { engineRef?.wake() })
            admin.raft = raftLog
            admin.bodyBudget = smtp.bodyBudget
            admin.domains = domains
            admin.credentials = credentials
            admin.sendingLimits = sendingLimits
            admin.spamScorer = smtp.spamScorer
            if config.listen.adminTLS { admin.tls = tls }
            admin.delivery = delivery
            if let dns = dnsServer { admin.dnsQueriesAnswered = { dns.queriesAnswered } }
            bound["admin"] = try admin.start(address: adminAddress.description, loop: loops[0])
            self.admin = admin
        }
        webhooks = startWebhooks(store: store, log: log, raft: raftLog, loops: loops)
        RelayNode.registerMetricCollectors(store: store, sendingLimits: sendingLimits)
        schedulePruning(log: log, loop: loops[0])
        scheduleDomainRechecks(domains, loop: loops[0])
        // Tests and tools read the bound ports (port 0 in config) from here.
        let data = try JSONSerialization.data(withJSONObject: bound, options: [.sortedKeys])
        try data.write(to: URL(fileURLWithPath: dataDir + "/listen.json"), options: .atomic)
        ReadinessNotifier.announceWhenReady(raft: raftLog, logger: logger)
    }

    /// Rebuilds the DNS zone every second from the health view (a killed peer leaves the
    /// answers within its staleness window plus a second).
    private func scheduleZoneRefresh(dns: RelayConfig.DNS, loop: EventLoop) {
        let config = self.config
        let health = self.health
        let server = self.dnsServer
        let logger = self.logger
        let domains = self.domains
        loop.every(1.0) { [weak server] in
            guard let server else { return false }
            do {
                server.updateZone(try RelayNode.makeZone(config, dns: dns, health: health, domains: domains))
            } catch {
                logger.log(.error, "dns zone update failed", ["error": "\(error)"])
            }
            return true
        }
    }

    /// Every `dkim.recheckSeconds`, the leader (or a single node) looks every sending domain's
    /// records up again; a domain whose DKIM record went away becomes failing and is no longer
    /// signed for. The lookups run on a worker thread, never on the loop.
    private func scheduleDomainRechecks(_ domains: SendingDomains, loop: EventLoop) {
        let raft = self.raftLog
        let period = Double(config.dkim.recheckSeconds)
        // One serial worker: checks never overlap (they take seconds at most per domain).
        let worker = DispatchQueue(label: "sendarix.dkim.recheck")
        loop.every(period, initialDelay: period) {
            guard raft?.status().isLeader ?? true else { return true }
            worker.async { domains.recheckAll() }
            return true
        }
    }

    /// Once a minute, drops events older than `spool.eventRetentionHours` (bounded per command so
    /// pruning never stalls the log).
    private func schedulePruning(log: any ReplicatedLog, loop: EventLoop) {
        let retentionMs = Int64(config.spool.eventRetentionHours) * 3_600_000
        let tenantHours = config.spool.tenantEventRetentionHours
        let logger = self.logger
        loop.every(60, initialDelay: 60) {
            let cutoff = Int64(Date().timeIntervalSince1970 * 1000) - retentionMs
            log.propose(.pruneEvents(SpoolCommand.PruneEvents(before: cutoff))) { result in
                if case .failure(let e) = result, e.code != .closed {
                    logger.log(.warning, "event pruning failed", ["error": "\(e)"])
                }
            }
            for command in RelayNode.tenantPruneCommands(tenantHours, now: Int64(Date().timeIntervalSince1970 * 1000)) {
                log.propose(command) { _ in }
            }
            return true
        }
    }

    private func prepareTLS(dataDir: String) throws {
        let cert: String, key: String
        if let t = config.tls {
            cert = t.certificate
            key = t.privateKey
        } else {
            let dir = dataDir + "/tls"
            cert = dir + "/cert.pem"
            key = dir + "/key.pem"
            // Missing or empty (a file cut short by a crash of a version that did not fsync it).
            func usable(_ path: String) -> Bool {
                ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) > 0
            }
            if !usable(cert) || !usable(key) {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try TLSContext.generateSelfSigned(commonName: hostname, certificatePath: cert, keyPath: key)
                logger.log(.info, "tls certificate generated", ["certificate": cert, "note": "self-signed"])
            }
        }
        certificatePaths = (cert, key)
        tls.replace(try TLSContext(serverCertificate: cert, privateKey: key))
    }

    /// SIGHUP: reloads the certificate and key, then re-reads the config file and puts its users
    /// (credentials, tenants, networks, pools) in force for new AUTH and later deliveries. Other
    /// changed sections are named in the log as needing a restart. A config that no longer loads
    /// is logged and ignored: the running configuration stays. Blocks (config load, PBKDF2).
    private func reload() {
        reloadTLS()
        guard let configPath else { return }
        do {
            let fresh = try RelayConfig.load(path: configPath)
            // Pools come from the running delivery engine: a user may only name one it has.
            let running = Set(config.delivery.pools.map(\.name))
            if let user = fresh.users.first(where: { $0.pool.map { !running.contains($0) } ?? false }) {
                logger.log(.error, "config reload refused; keeping the running configuration",
                           ["config": configPath, "reason": "users '\(user.name)' names pool '\(user.pool ?? "")', "
                            + "which the running node does not have; restart to add pools"])
                return
            }
            try smtp?.authenticator.replaceUsers(fresh.users)
            delivery?.updateUsers(fresh.users)
            let pending = RelayNode.sectionsNeedingRestart(running: config, loaded: fresh)
            var fields: [(String, String)] = [("config", configPath), ("users", String(fresh.users.count))]
            if !pending.isEmpty { fields.append(("restartNeededFor", pending.joined(separator: ","))) }
            logger.log(pending.isEmpty ? .info : .warning, "config reloaded", fields: fields)
        } catch {
            logger.log(.error, "config reload failed; keeping the running configuration",
                       ["config": configPath, "error": "\(error)"])
        }
    }

    /// Top-level sections of `loaded` that differ from the `running` configuration and are not
    /// applied by a reload (everything but `users`). Pure; any caller.
    static func sectionsNeedingRestart(running: RelayConfig, loaded: RelayConfig) -> [String] {
        var changed: [String] = []
        func check(_ name: String, _ same: Bool) { if !same { changed.append(name) } }
        check("node", running.node == loaded.node)
        check("listen", running.listen == loaded.listen)
        check("tls", running.tls == loaded.tls)
        check("cluster", running.cluster == loaded.cluster)
        check("routes", running.routes == loaded.routes)
        check("resolver", running.resolver == loaded.resolver)
        check("adminToken", running.adminToken == loaded.adminToken && running.adminTokenFile == loaded.adminTokenFile)
        check("dns", running.dns == loaded.dns)
        check("policy", running.policy == loaded.policy)
        check("limits", running.limits == loaded.limits)
        check("timeouts", running.timeouts == loaded.timeouts)
        check("spool", running.spool == loaded.spool)
        check("delivery", running.delivery == loaded.delivery)
        check("log", running.log == loaded.log)
        return changed
    }

    /// Reloads the certificate and key; sessions in progress keep their context.
    private func reloadTLS() {
        guard let (cert, key) = certificatePaths else { return }
        do {
            tls.replace(try TLSContext(serverCertificate: cert, privateKey: key))
            logger.log(.info, "tls reloaded", ["certificate": cert])
        } catch {
            logger.log(.error, "tls reload failed; keeping the previous certificate", ["error": "\(error)"])
        }
    }

    /// Graceful stop: no new connections, sessions get up to `drainSeconds` (30 for SIGTERM; 0 for
    /// the restart that installs a spool snapshot) to finish, then 421 and close; the log is flushed
    /// and the spool closed. Blocks; called by the signal loop.
    public func shutdown(drainSeconds: Double = 30) {
        logger.log(.info, "shutdown", ["phase": "draining", "drainSeconds": "\(Int(drainSeconds))"])
        ReadinessNotifier.shutdownStarted()
        smtp?.stopAccepting()
        let deadline = Date().addingTimeInterval(drainSeconds)
        while let smtp, smtp.liveSessions() > 0, Date() < deadline { usleep(50_000) }
        smtp?.closeRemaining()
        if let smtp {
            let hard = Date().addingTimeInterval(5)
            while smtp.liveSessions() > 0, Date() < hard { usleep(20_000) }
        }
        admin?.stop()
        delivery?.stop()
        sendingLimits?.stop()
        webhooks?.stop()
        simulator?.stop()
        health?.stop()
        dnsServer?.stop()
        log?.stop()
        raftLog?.stop(transferLeadership: true)
        for loop in loops { loop.stop() }
        for loop in loops { loop.waitUntilStopped() }
        store?.close()
        logger.log(.info, "shutdown", ["phase": "done"])
    }
}
