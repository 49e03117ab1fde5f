import DeliveryCore
import DeliveryEngine
import Foundation
import NetworkIO
import RelayConfig
import SpoolStore
import Synchronization
import Testing

/// One in-process delivery setup per test: a temp spool with a `LocalLog`, an event loop, and a
/// `DeliveryEngine` with short timeouts. Waits poll the store until a condition holds or a
/// deadline passes.
final class EngineHarness: @unchecked Sendable {
    // Safe: immutable after init; the store and log are thread-safe.
    let directory: String
    let store: SpoolStore
    let log: LocalLog
    let loop: EventLoop
    let engine: DeliveryEngine
    let lines = LogLines()

    /// Test defaults: connect and reply (and TLS handshake) timeouts generous enough that a loaded
    /// machine never trips them by accident (tests that exercise a timeout set a short one
    /// themselves), a short idle timeout, a 1 s retry step, no jitter.
    static func testOptions() -> DeliveryEngine.Options {
        var options = DeliveryEngine.Options()
        options.connectTimeout = 5
        options.replyTimeoutCap = 10
        options.idleTimeout = 0.5
        options.retrySteps = [1]
        options.retryJitter = 0
        options.stopTimeout = 5
        options.caFile = nil
        return options
    }

    /// A config with node name `relay.test`, the given routes, a 2 s resolver timeout and a
    /// one-hour lifetime.
    static func config(routes: [RelayConfig.Route] = [], nameservers: [String] = []) -> RelayConfig {
        var config = RelayConfig()
        config.node.hostname = "relay.test"
        config.routes = routes
        config.resolver.nameservers = nameservers.compactMap { HostPort($0) }
        config.resolver.timeoutMs = 2_000
        config.delivery.maxLifetimeSeconds = 3_600
        return config
    }

    /// A route to the fake server(s) for `domain`.
    static func route(_ domain: String, _ ports: [UInt16], tls: RelayConfig.RouteTLS = .none, host: String = "127.0.0.1",
                      implicitTLS: Bool = false, auth: RelayConfig.RouteAuth? = nil) -> RelayConfig.Route {
        RelayConfig.Route(domain: domain, hosts: ports.map { HostPort(host: host, port: $0) }, tls: tls,
                          implicitTLS: implicitTLS, auth: auth)
    }

    /// `wrapLog` puts a test double between the engine and the log (the harness's own proposals
    /// go to the log directly).
    init(config: RelayConfig, options: DeliveryEngine.Options = EngineHarness.testOptions(), start: Bool = true,
         wrapLog: ((LocalLog) -> any ReplicatedLog)? = nil) throws {
        signal(SIGPIPE, SIG_IGN) // as the node does: peers closing mid-write must not kill the process
        directory = NSTemporaryDirectory() + "sx-engine-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try SpoolStore(directory: directory + "/spool", options: SpoolStore.Options(mapSize: 64 << 20, durable: false))
        log = try LocalLog(store: store)
        loop = try EventLoop(name: "engine-test")
        loop.start()
        let lines = self.lines
        engine = DeliveryEngine(config: config, nodeID: "t1", hostname: "relay.test", store: store,
                                log: wrapLog?(log) ?? log,
                                loops: [loop], options: options) { level, event, fields in
            lines.value.withLock { $0.append("\(level) \(event) \(fields.map { "\($0.0)=\($0.1)" }.joined(separator: " "))") }
        }
        if start { try engine.start() }
    }

    /// Stops the engine, the loop and the log; removes the directory.
    func shutdown() {
        engine.stop()
        loop.stop()
        log.stop()
        store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Proposes `command` and waits for it to be applied.
    @discardableResult
    func propose(_ command: SpoolCommand) -> Result<UInt64, StoreError> {
        let box = Mutex<Result<UInt64, StoreError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        log.propose(command) { result in
            box.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return box.withLock { $0! }
    }

    /// Enqueues a message and wakes the engine (unless `wake` is false: a test that enqueues a
    /// group then wakes the engine once, so that how fast the enqueues run does not matter).
    func enqueue(_ id: String, to recipients: [String], from sender: String = "sender@origin.test",
                 notify: SpoolCommand.Notify = [], receivedAt: Int64? = nil, tenant: String = "acme", authUser: String = "",
                 body: [UInt8] = Array("From: sender@origin.test\r\nSubject: test\r\n\r\nhello\r\n.dot line\r\n".utf8),
                 wake: Bool = true) {
        let enqueue = SpoolCommand.Enqueue(
            queueID: id, messageID: "\(id)@relay.test", tenant: tenant, authUser: authUser, sender: sender,
            recipients: recipients.map { SpoolCommand.Recipient(address: $0, notify: notify) },
            receivedAt: receivedAt ?? Int64(Date().timeIntervalSince1970 * 1000), body: body)
        let result = propose(.enqueue(enqueue))
        #expect((try? result.get()) != nil, "enqueue \(id): \(result)")
        if wake { engine.wake() }
    }

    /// Outcome events (not `accepted`) of `id`, oldest first. A store error is recorded as a test
    /// failure (not read as "no events").
    func outcomes(_ id: String) -> [Event] {
        do {
            return try store.events(EventQuery(queueId: id, limit: 1000)).filter { $0.type != .accepted }.reversed()
        } catch {
            Issue.record("events of \(id): \(error)")
            return []
        }
    }

    /// Waits until `condition` holds (polling every 20 ms) or `timeout` seconds pass; returns it.
    @discardableResult
    func wait(timeout: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return condition()
    }

    /// Waits until `id` has an outcome event for every recipient that is final, or any
    /// event matching `type`; returns its outcome events.
    @discardableResult
    func waitForOutcome(_ id: String, count: Int = 1, type: Event.Kind? = nil, timeout: Double = 10) -> [Event] {
        wait(timeout: timeout) {
            let events = outcomes(id)
            if let type { return events.filter { $0.type == type }.count >= count }
            return events.count >= count
        }
        return outcomes(id)
    }

    /// Waits until nothing is in flight, then until every command proposed before now is applied
    /// (the local log applies in order, so a no-op proposal acts as a barrier).
    func settle() {
        wait { engine.statistics.inFlight == 0 }
        propose(.unsuppress(tenant: "barrier", address: "barrier@barrier.test"))
    }

    /// True when `id` is no longer queued (every recipient final).
    /// A store error is recorded as a test failure and counts as not done.
    func isDone(_ id: String) -> Bool {
        do { return try store.message(id: id) == nil } catch {
            Issue.record("message \(id): \(error)")
            return false
        }
    }

    /// Log lines so far.
    var logText: String { lines.value.withLock { $0.joined(separator: "\n") } }
}

/// Collected log lines (a reference so closures can share it).
final class LogLines: Sendable {
    let value = Mutex<[String]>([])
}
