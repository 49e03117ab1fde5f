import ClusterLog
import Foundation
import DeliveryEngine
import HTTPCore
import NetworkIO
import RelayConfig
import SMTPCore
import SpoolStore

/// The admin HTTP API (JSON, bearer token) on `listen.admin`: health, queue and events.
///
/// Runs on one event loop; requests read LMDB through read transactions, which are short and do
/// not block the writer. `start` blocks until listening.
final class AdminServer: @unchecked Sendable {
    // Safe: `listener` and `handlers` are touched only on `loop` (set up through `onLoop`).
    let config: RelayConfig
    let store: SpoolStore
    let logger: NodeLogger
    let nodeID: String
    let token: String?
    let isDraining: @Sendable () -> Bool
    let health: ClusterHealth?
    /// The replicated log, for `/health`, `cluster status` and membership (nil on a single node).
    /// Set before `start`.
    var raft: RaftLog?
    /// The SMTP sessions' shared body memory, shown by `/health`. Set before `start`.
    var bodyBudget: BodyMemoryBudget?
    /// Sending domains (`/v1/domains`, `/v1/tenants/T`). Set before `start`.
    var domains: SendingDomains?
    /// API-managed SMTP credentials (`/v1/tenants`, `/v1/tenants/T/credentials`). Set before `start`.
    var credentials: Credentials?
    /// Limits, suspensions and the quarantine (`/v1/suspensions`, `/v1/limits`). Set before `start`.
    var sendingLimits: SendingLimiter?
    /// The spam filter's counters for `/v1/limits`; nil when off. Set before `start`.
    var spamScorer: SpamScorer?
    /// When set (`listen.adminTLS`), every connection starts with a TLS handshake (the node's
    /// certificate, reloaded on SIGHUP). Set before `start`.
    var tls: TLSContextHolder?
    /// The delivery engine (TLS reports); nil when delivery is off.
    var delivery: DeliveryEngine?
    /// Queries the DNS responder answered (for `/metrics`); nil without one. Set before `start`.
    var dnsQueriesAnswered: (@Sendable () -> Int)?
    let log: any ReplicatedLog
    /// Called after an operator made messages due (retry), to wake delivery.
    let onRescheduled: @Sendable () -> Void
    /// The queue depth of the last hour, for the dashboard (sampled from `start`).
    let queueDepth = QueueDepthHistory()
    private var loop: EventLoop?
    private var listener: Listener?
    private var handlers: [ObjectIdentifier: Handler] = [:]

    init(config: RelayConfig, store: SpoolStore, logger: NodeLogger, nodeID: String,
         isDraining: @escaping @Sendable () -> Bool, health: ClusterHealth? = nil, log: any ReplicatedLog,
         onRescheduled: @escaping @Sendable () -> Void = {}) {
        self.health = health
        self.log = log
        self.onRescheduled = onRescheduled
        self.config = config
        self.store = store
        self.logger = logger
        self.nodeID = nodeID
        self.token = config.adminToken
        self.isDraining = isDraining
    }

    /// Binds `address` on `loop`; returns the bound address.
    func start(address: String, loop: EventLoop) throws -> String {
        self.loop = loop
        let sa = try Listener.claim(try SocketAddress(parsing: address))
        let listener = try Listener(address: sa, loop: loop) { [self] fd, remote in
            let h = Handler(server: self)
            if let c = try? Connection.accepted(fd: fd, remote: remote, loop: loop, delegate: h) {
                h.connection = c
                handlers[ObjectIdentifier(h)] = h
                if let holder = tls {
                    guard let ctx = holder.context else {
                        c.close()
                        return
                    }
                    c.startTLS(context: ctx)
                }
            } else {
                close(fd)
            }
        }
        try SMTPServer.onLoop(loop) { try listener.start() }
        self.listener = listener
        startQueueDepthSampling(loop: loop)
        logger.log(.info, "listening", ["service": "admin", "address": listener.address.description])
        return listener.address.description
    }

    /// Closes the listener and open connections. Blocks until done.
    func stop() {
        guard let loop else { return }
        try? SMTPServer.onLoop(loop) { [self] in
            listener?.close()
            for h in handlers.values { h.connection?.abort() }
            handlers.removeAll()
        }
    }

    fileprivate func finished(_ h: Handler) { handlers[ObjectIdentifier(h)] = nil }

    /// One admin connection (keep-alive, pipelined requests answered in order). Loop-confined.
    final class Handler: ConnectionDelegate {
        unowned let server: AdminServer
        var connection: Connection?
        var parser = HTTPRequestParser()
        /// True while a request waits for a log commit; later pipelined requests wait too.
        var busy = false

        init(server: AdminServer) { self.server = server }

        func connection(_ connection: Connection, didRead bytes: ArraySlice<UInt8>) {
            parser.feed(bytes)
            process()
        }

        private func process() {
            guard let connection else { return }
            while !busy {
                switch parser.next() {
                case .needMore:
                    return
                case .error(let e):
                    connection.write(AdminServer.response(e.status, json: ["error": e.reason], keepAlive: false))
                    connection.close()
                    return
                case .request(let request):
                    let keepAlive = request.keepAlive
                    if let action = server.deferredAction(for: request, keepAlive: keepAlive) {
                        busy = true
                        let me = LoopBound(self, loop: connection.loop)
                        action { bytes in
                            me.execute { h in
                                h.busy = false
                                h.connection?.write(bytes)
                                if !keepAlive { h.connection?.close() } else { h.process() }
                            }
                        }
                        return
                    }
                    connection.write(server.handle(request, keepAlive: keepAlive))
                    if !keepAlive {
                        connection.close()
                        return
                    }
                }
            }
        }

        func connectionDidClose(_ connection: Connection, error: NetworkError?) {
            self.connection = nil
            server.finished(self)
        }
    }

    // MARK: - Routing

    func handle(_ request: HTTPRequest, keepAlive: Bool) -> [UInt8] {
        let path = String(request.path)
        let parts = AdminServer.pathSegments(request)
        if let response = dashboardResponse(for: request, keepAlive: keepAlive) { return response }
        if request.method == "GET" && path == "/health" {
            return health(keepAlive: keepAlive)
        }
        if let response = metricsResponse(for: request, keepAlive: keepAlive) { return response }
        guard authorized(request) else {
            if role(request) == .readOnly {
                return AdminServer.response(403, json: ["error": "the read-only token cannot \(request.method) \(path)"],
                                            keepAlive: keepAlive)
            }
            return AdminServer.response(401, json: ["error": "missing or wrong bearer token"], keepAlive: keepAlive,
                                        extra: [("WWW-Authenticate", "Bearer")])
        }
        if let response = tlsReportResponse(for: request, keepAlive: keepAlive) { return response }
        if let response = complaintRateResponse(for: request, keepAlive: keepAlive) { return response }
        if let response = backupResponse(for: request, keepAlive: keepAlive) { return response }
        if let response = eventsResponse(for: request, keepAlive: keepAlive) { return response }
        do {
            switch (request.method, parts.count, parts.first, parts.dropFirst().first) {
            case ("GET", 2, "v1", "queue"):
                let limit = min(max(Int(request.query("limit") ?? "") ?? 100, 1), 10_000)
                let entries = try store.queueEntries(limit: limit, after: request.query("after"))
                return AdminServer.response(200, json: ["messages": entries.map(AdminServer.json(_:)),
                                                        "count": try store.queueCount()], keepAlive: keepAlive)
            case ("GET", 3, "v1", "queue"):
                guard let m = try store.message(id: parts[2]) else { return notFound(parts[2], keepAlive) }
                return AdminServer.response(200, json: AdminServer.json(m), keepAlive: keepAlive)
            case ("GET", 4, "v1", "queue") where parts[3] == "body":
                guard let body = try store.messageBody(id: parts[2]) else { return notFound(parts[2], keepAlive) }
                return AdminServer.response(200, body: body, contentType: "message/rfc822", keepAlive: keepAlive)
            case ("GET", 2, "v1", "suppressions"):
                let tenant = request.query("tenant") ?? "default"
                let limit = min(max(Int(request.query("limit") ?? "") ?? 1000, 1), 100_000)
                let list = try store.suppressions(tenant: tenant, limit: limit).map { s -> [String: Any] in
                    ["tenant": s.tenant, "address": s.address, "reason": s.reason, "createdAt": AdminServer.time(s.createdAt)]
                }
                return AdminServer.response(200, json: ["suppressions": list], keepAlive: keepAlive)
            case ("GET", 3, "v1", "cluster") where parts[2] == "status":
                guard let raft else {
                    return AdminServer.response(200, json: ["mode": "single-node", "node": nodeID], keepAlive: keepAlive)
                }
                return AdminServer.response(200, json: raft.status().jsonObject(), keepAlive: keepAlive)
            case ("POST", 3, "v1", "cluster") where parts[2] == "members",
                 ("DELETE", 4, "v1", "cluster") where parts[2] == "members":
                return AdminServer.response(raft == nil ? 409 : 400,
                                            json: ["error": raft == nil ? "not a cluster node (no cluster.peers)"
                                                   : "body must be JSON {\"id\": \"n4\", \"address\": \"host:7700\"}"],
                                            keepAlive: keepAlive)
            case ("POST", 2, "v1", "suppressions"):
                return AdminServer.response(400, json: ["error": "body must be JSON {\"address\": \"user@domain\", \"tenant\": \"…\", \"reason\": \"…\"}"],
                                            keepAlive: keepAlive)
            default:
                return AdminServer.response(404, json: ["error": "no such resource: \(request.method) \(path)"],
                                            keepAlive: keepAlive)
            }
        } catch {
            logger.log(.error, "admin request failed", ["path": path, "error": "\(error)"])
            return AdminServer.response(500, json: ["error": "\(error)"], keepAlive: keepAlive)
        }
    }

    /// What a request's bearer token allows.
    enum Role { case operatorAccess, readOnly }

    /// True for the operator token (every request).
    func authorizedRequest(_ request: HTTPRequest) -> Bool { role(request) == .operatorAccess }

    /// The role of the request's bearer token, nil without a valid one. Compared in constant time.
    func role(_ request: HTTPRequest) -> Role? {
        guard let value = request.headers.values("Authorization").first, value.hasPrefix("Bearer ") else { return nil }
        let presented = Array(value.dropFirst(7).utf8)
        if let token, !token.isEmpty, PasswordHasher.constantTimeEqual(presented, Array(token.utf8)) { return .operatorAccess }
        if let r = config.adminReadOnlyToken, !r.isEmpty, PasswordHasher.constantTimeEqual(presented, Array(r.utf8)) {
            return .readOnly
        }
        return nil
    }

    /// True when the request may be served: any valid token for GET/HEAD, the operator token for
    /// everything else.
    private func authorized(_ request: HTTPRequest) -> Bool {
        guard let role = role(request) else { return false }
        return role == .operatorAccess || request.method == "GET" || request.method == "HEAD"
    }

    private func notFound(_ id: String, _ keepAlive: Bool) -> [UInt8] {
        AdminServer.response(404, json: ["error": "no message \(id) in the queue"], keepAlive: keepAlive)
    }

    private func health(keepAlive: Bool) -> [UInt8] {
        let draining = isDraining()
        var body: [String: Any] = ["status": draining ? "draining" : "ok", "node": nodeID]
        if let n = try? store.queueCount() { body["queue"] = n }
        if let raft { body["raft"] = raft.status().jsonObject() }
        if let bodyBudget {
            body["bodyMemory"] = ["inUseBytes": bodyBudget.inUse, "limitBytes": bodyBudget.limit]
        }
        if let health {
            body["advertised"] = health.selfHealthy()
            body["peers"] = health.peers().map { p -> [String: Any] in
                var d: [String: Any] = ["id": p.id, "address": p.address, "healthy": health.isHealthy(p)]
                if let t = p.lastOK { d["lastContact"] = AdminServer.time(Int64(t.timeIntervalSince1970 * 1000)) }
                if let e = p.lastError { d["lastError"] = e }
                return d
            }
        }
        return AdminServer.response(draining ? 503 : 200, json: body, keepAlive: keepAlive)
    }

    /// RFC 3339 or integer milliseconds.
    static func parseTime(_ s: String) -> Int64? {
        if let ms = Int64(s) { return ms }
        return RFC3339.parse(s)
    }
}
