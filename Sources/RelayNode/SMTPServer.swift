import DeliveryEngine
import Foundation
import NetworkIO
import RelayConfig
import SMTPCore
import SpoolStore
import SendarixSupport
import Synchronization

/// The SMTP listener shell: accepts connections on every loop, runs one `SMTPSession` per
/// connection, and performs the session's actions (writes, STARTTLS, AUTH checks, enqueue through
/// the log). Thread-safe; per-connection state lives on the connection's loop.
final class SMTPServer: Sendable {
    /// What a listener is for.
    enum Kind: String, Sendable { case submission, smtps, relay }

    let config: RelayConfig
    let hostname: String
    let log: any ReplicatedLog
    /// Sending domains: sender policy and DKIM signing at acceptance (nil: neither).
    let domains: SendingDomains?
    /// Bounce and complaint intake at VERP and feedback addresses (relay port); nil: none.
    let feedback: FeedbackProcessor?
    /// Where acceptance-time signing runs (concurrent, as wide as the machine): off the loops.
    let signingQueue = DispatchQueue(label: "sendarix.smtp.signing", attributes: .concurrent)
    let logger: NodeLogger
    let queueIDs: QueueIDGenerator
    let tls: TLSContextHolder
    let authenticator: AuthService
    let limiter: ConnectionLimiter
    let localDomains: Set<String>
    /// Memory every session together may hold for bodies being received (`limits.messageMemoryMB`).
    let bodyBudget: BodyMemoryBudget
    /// Per-tenant and per-credential limits and abuse detection (issue 11); nil: none.
    let sendingLimits: SendingLimiter?
    /// Outbound spam scoring with rspamd (`spamFilter`); nil: off.
    let spamScorer: SpamScorer?
    /// Live handlers per loop, touched only on their loop (see `Registry`).
    let registries: [LoopBound<Registry>]
    private let draining = Atomic<Bool>(false)
    /// Woken (on the log's thread) after each message is queued: the delivery engine. A class
    /// reference, not a stored closure: reading a closure out of a `Mutex` through `inout` re-wraps
    /// it in a reabstraction thunk on every access, and the chain grew until the stack overflowed.
    private let delivery = Mutex<DeliveryEngine?>(nil)

    /// Sets the engine to wake after each enqueue. Thread-safe.
    func setDelivery(_ engine: DeliveryEngine?) { delivery.withLock { $0 = engine } }

    /// Wakes delivery after an enqueue. Thread-safe, never blocks.
    func enqueued() { delivery.withLock { $0 }?.wake() }
    private let sessionCounter = Atomic<UInt64>(0)

    /// The live sessions of one loop. Loop-confined.
    final class Registry {
        var handlers: [ObjectIdentifier: Handler] = [:]
        var listeners: [Listener] = []
    }

    init(config: RelayConfig, hostname: String, log: any ReplicatedLog, logger: NodeLogger,
         tls: TLSContextHolder, loops: [EventLoop], domains: SendingDomains? = nil, sendingLimits: SendingLimiter? = nil,
         feedback: FeedbackProcessor? = nil) {
        self.domains = domains
        self.sendingLimits = sendingLimits
        self.spamScorer = config.spamFilter.map { SpamScorer(settings: $0) }
        self.feedback = feedback
        self.config = config
        self.hostname = hostname
        self.log = log
        self.logger = logger
        self.queueIDs = QueueIDGenerator(nodeID: config.node.id)
        self.tls = tls
        self.authenticator = AuthService(config: config, logger: logger)
        self.limiter = ConnectionLimiter(perIP: config.policy.maxConnectionsPerIP,
                                         total: config.limits.maxConnections,
                                         ipv6PrefixLength: config.policy.ipv6PrefixLength)
        self.localDomains = Set(config.policy.localDomains.map { $0.lowercased() })
        self.bodyBudget = BodyMemoryBudget(limit: config.limits.messageMemoryMB << 20)
        self.registries = loops.map { LoopBound(Registry(), loop: $0) }
    }

    /// Binds every configured SMTP address on every loop. Blocks until all are listening; returns
    /// the bound addresses per kind (real ports when 0 was configured).
    func start() throws -> [Kind: [String]] {
        var bound: [Kind: [String]] = [:]
        let plan: [(Kind, [HostPort])] = [(.submission, config.listen.submission), (.smtps, config.listen.smtps),
                                          (.relay, config.listen.relay)]
        for (kind, addresses) in plan {
            for hp in addresses {
                // Fails when another process holds the port; resolves port 0 once for all loops.
                var address = try Listener.claim(try SocketAddress(parsing: hp.description))
                for registry in registries {
                    let loop = registry.loop
                    let listener = try Listener(address: address, loop: loop) { [self] fd, remote in
                        self.accept(fd: fd, remote: remote, kind: kind, loop: loop)
                    }
                    listener.onAcceptTrouble = acceptTroubleReporter(kind)
                    // Port 0: every loop binds the port the first one got.
                    address = listener.address
                    try Self.onLoop(loop) {
                        try listener.start()
                        registry.value.listeners.append(listener)
                    }
                }
                bound[kind, default: []].append(address.description)
                logger.log(.info, "listening", ["service": kind.rawValue, "address": address.description])
            }
        }
        return bound
    }

    /// Runs `body` on `loop` and waits for it. Blocks the caller.
    static func onLoop(_ loop: EventLoop, _ body: @escaping () throws -> Void) throws {
        let box = ResultBox()
        let bound = LoopBound(body, loop: loop)
        loop.execute {
            do { try bound.value() } catch { box.error = error }
            box.done.signal()
        }
        box.done.wait()
        if let e = box.error { throw e }
    }

    final class ResultBox: @unchecked Sendable {
        // Safe: written on the loop before `done` is signalled, read after the wait.
        var error: Error?
        let done = DispatchSemaphore(value: 0)
    }

    private func accept(fd: Int32, remote: SocketAddress, kind: Kind, loop: EventLoop) {
        let ip = remote.ip
        guard !draining.load(ordering: .relaxed) else {
            Self.rejectAndClose(fd: fd, reply: "421 4.3.2 \(hostname) Service shutting down\r\n")
            return
        }
        switch limiter.acquire(ip: ip) {
        case .tooManyFromIP:
            logger.log(.warning, "connection refused", ["client": ip, "reason": "per-IP limit"])
            Self.rejectAndClose(fd: fd, reply: "421 4.7.0 \(hostname) Too many connections from your address\r\n")
            return
        case .tooManyTotal:
            logger.log(.warning, "connection refused", ["client": ip, "reason": "connection limit"])
            Self.rejectAndClose(fd: fd, reply: "421 4.3.2 \(hostname) Too many connections, try later\r\n")
            return
        case .ok:
            break
        }
        let sessionID = "s" + String(sessionCounter.wrappingAdd(1, ordering: .relaxed).newValue, radix: 36)
        let handler = Handler(server: self, kind: kind, loop: loop, sessionID: sessionID, remote: remote)
        do {
            let connection = try Connection.accepted(fd: fd, remote: remote, loop: loop, delegate: handler)
            for r in registries where r.loop === loop { r.value.handlers[ObjectIdentifier(handler)] = handler }
            NodeMetrics.shared.connectionOpened(kind.rawValue)
            handler.begin(connection)
        } catch {
            limiter.release(ip: ip)
            close(fd)
        }
    }

    /// Writes a one-line reply on a socket we will not serve and closes it (best effort).
    static func rejectAndClose(fd: Int32, reply: String) {
        var bytes = Array(reply.utf8)
        _ = bytes.withUnsafeMutableBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        close(fd)
    }

    func removed(_ handler: Handler, loop: EventLoop) {
        for r in registries where r.loop === loop { r.value.handlers[ObjectIdentifier(handler)] = nil }
    }

    /// Stops accepting on every loop. Blocks until the listeners are closed.
    func stopAccepting() {
        draining.store(true, ordering: .relaxed)
        for r in registries {
            try? Self.onLoop(r.loop) {
                for l in r.value.listeners { l.close() }
                r.value.listeners.removeAll()
            }
        }
    }

    /// Number of live sessions. Blocks briefly on each loop.
    func liveSessions() -> Int {
        var total = 0
        let lock = Mutex<Int>(0)
        for r in registries {
            try? Self.onLoop(r.loop) {
                let n = r.value.handlers.count
                lock.withLock { $0 += n }
            }
        }
        total = lock.withLock { $0 }
        return total
    }

    /// Tells every remaining session the service is going down (421) and closes it.
    func closeRemaining() {
        for r in registries {
            try? Self.onLoop(r.loop) {
                for h in r.value.handlers.values { h.shutdown() }
            }
        }
    }

    /// True once shutdown began.
    var isDraining: Bool { draining.load(ordering: .relaxed) }
}
