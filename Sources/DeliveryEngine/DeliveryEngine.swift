import NetworkIO
import RelayConfig
import SpoolStore
import Synchronization

/// Outbound delivery shell: finds due messages in the spool, claims them with a lease command,
/// routes them (static routes or MX), delivers over SMTP with shaping, and records outcomes as
/// log commands. Thread-safe; `start`/`stop` block briefly.
///
/// Per attempt: recipients due now are grouped by domain; suppressed recipients get `suppressed`
/// without a connection; messages past `delivery.maxLifetimeSeconds` bounce; each domain goes to
/// its static route or MX hosts with connection-level failover (connect error/timeout, 421,
/// failures before MAIL) and a circuit breaker per host; results become one `outcome` command
/// (delivered / deferred until T / bounced, per recipient). Hard bounces of unknown mailboxes or
/// domains (and expiries) suppress the address; DSNs go to the sender when NOTIFY asks.
///
/// Threads: one serial scheduler queue owns all state; DNS lookups run on `Options.dnsThreads`
/// worker queues; SMTP connections run on the given event loops (round-robin). Cluster mode: pass
/// `Options.preferredOwner` (e.g. `{ raftLog.preferredOwner(for: $0) }`) so each node claims only
/// the domains it owns plus orphaned leases; leases are renewed while an attempt runs.
public final class DeliveryEngine: Sendable {
    /// Receives structured log lines: level (`debug|info|warning|error`), event name, fields.
    public typealias LogSink = @Sendable (_ level: String, _ event: String, _ fields: [(String, String)]) -> Void

    let coordinator: DeliveryCoordinator
    private let state = Mutex<State>(.created)

    private enum State { case created, running, stopped }

    /// Creates the engine with default `Options`; nothing runs until `start()`. Does not block;
    /// any thread.
    public convenience init(config: RelayConfig, nodeID: String, hostname: String, store: SpoolStore,
                            log: any ReplicatedLog, loops: [EventLoop], logSink: @escaping LogSink) {
        self.init(config: config, nodeID: nodeID, hostname: hostname, store: store, log: log, loops: loops,
                  options: Options(), logSink: logSink)
    }

    /// Creates the engine with explicit `options` (timeouts, retry steps, MX port, clock…);
    /// nothing runs until `start()`. `loops` must not be empty and must be running. Any thread.
    public init(config: RelayConfig, nodeID: String, hostname: String, store: SpoolStore,
                log: any ReplicatedLog, loops: [EventLoop], options: Options, logSink: @escaping LogSink) {
        precondition(!loops.isEmpty, "DeliveryEngine needs at least one event loop")
        coordinator = DeliveryCoordinator(config: config, nodeID: nodeID, hostname: hostname, store: store, log: log,
                                          loops: loops, options: options, logSink: logSink)
    }

    /// Starts scheduling deliveries. Blocks until started.
    public func start() throws {
        let start = state.withLock { state -> Bool in
            guard case .created = state else { return false }
            state = .running
            return true
        }
        if start {
            coordinator.recoverLeases()
            coordinator.wake()
        }
    }

    /// Takes the users of a reloaded configuration: later attempts use their `users[].pool`.
    /// Thread-safe, never blocks.
    public func updateUsers(_ users: [RelayConfig.User]) {
        coordinator.updateUsers(users)
    }

    /// Wakes the scheduler (e.g. after an enqueue). Thread-safe, never blocks.
    public func wake() {
        guard state.withLock({ if case .running = $0 { return true } else { return false } }) else { return }
        coordinator.wake()
    }

    /// Stops taking new work and waits (bounded) for attempts in flight to record outcomes. Blocks.
    public func stop() {
        let stop = state.withLock { state -> Bool in
            guard case .running = state else { state = .stopped; return false }
            state = .stopped
            return true
        }
        if stop { coordinator.stop(timeout: coordinator.options.stopTimeout) }
    }

    /// Counters for tests and figures: messages in flight, SMTP connections opened, transactions
    /// sent (messages per connection = transactions / connections). Blocks briefly; any thread.
    public var statistics: (inFlight: Int, connectionsOpened: Int, transactions: Int) {
        coordinator.statistics()
    }
}
