import NetworkIO
import RelayConfig
import SpoolStore

/// Outbound delivery shell: finds due messages in the spool, claims them with a lease command,
/// routes them (static routes or MX), delivers over SMTP with shaping, and records outcomes as
/// log commands. Thread-safe; `start`/`stop` block briefly.
///
/// (Interface fixed by the node; the implementation lands with the delivery issue.)
public final class DeliveryEngine: Sendable {
    /// Receives structured log lines: level (`debug|info|warning|error`), event name, fields.
    public typealias LogSink = @Sendable (_ level: String, _ event: String, _ fields: [(String, String)]) -> Void

    /// Creates the engine; nothing runs until `start()`.
    public init(config: RelayConfig, nodeID: String, hostname: String, store: SpoolStore,
                log: any ReplicatedLog, loops: [EventLoop], logSink: @escaping LogSink) {}

    /// Starts scheduling deliveries. Blocks until started.
    public func start() throws {}

    /// Wakes the scheduler (e.g. after an enqueue). Thread-safe, never blocks.
    public func wake() {}

    /// Stops taking new work and waits (bounded) for attempts in flight to record outcomes. Blocks.
    public func stop() {}
}
