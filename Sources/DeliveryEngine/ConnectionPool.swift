import DeliveryCore
import NetworkIO

/// Outbound connections grouped by destination (host, address, port, source address, TLS and
/// AUTH settings): caps the open connections per destination, keeps idle connections for reuse
/// (several messages per connection, RSET in between is the session's job) and queues work that
/// waits for a free connection.
///
/// Confined to the delivery scheduler's queue (not thread-safe); connections report their
/// closing back through that queue.
final class ConnectionPool: @unchecked Sendable {
    // Safe: used only on the scheduler queue; closures merely carry it back there.
    /// Identifies connections that are interchangeable.
    struct Key: Hashable, Sendable {
        var hostName: String
        var address: String
        var port: UInt16
        var source: String?
        var tlsPolicy: SMTPClientSession.TLSPolicy
        var implicitTLS: Bool
        var username: String?
    }

    /// Receives a connection to run one transaction on.
    typealias Waiter = (SMTPClientConnection) -> Void

    private final class Destination {
        var open = 0
        var idle: [SMTPClientConnection] = []
        var waiting: [(waiter: Waiter, limit: Int, factory: () -> SMTPClientConnection)] = []
    }

    private var destinations: [Key: Destination] = [:]
    /// Connections opened since start (for figures: messages per connection).
    private(set) var connectionsOpened = 0

    /// Gives `use` a connection for `key`: an idle one, a new one from `factory` while fewer than
    /// `limit` are open, or later when one frees up. Scheduler queue only.
    func acquire(_ key: Key, limit: Int, factory: @escaping () -> SMTPClientConnection, _ use: @escaping Waiter) {
        let destination = destinations[key] ?? Destination()
        destinations[key] = destination
        if let connection = destination.idle.popLast() {
            use(connection)
        } else if destination.open < max(1, limit) {
            destination.open += 1
            connectionsOpened += 1
            use(factory())
        } else {
            destination.waiting.append((use, limit, factory))
        }
    }

    /// Returns `connection` after a transaction: handed to the next waiter or kept idle when
    /// `reusable`, otherwise asked to QUIT (its slot frees when it closes). Scheduler queue only.
    func release(_ key: Key, _ connection: SMTPClientConnection, reusable: Bool) {
        guard let destination = destinations[key] else { return }
        if reusable {
            if !destination.waiting.isEmpty {
                let next = destination.waiting.removeFirst()
                next.waiter(connection)
            } else {
                destination.idle.append(connection)
            }
        } else {
            connection.loop.execute { connection.quit() }
        }
    }

    /// Records that `connection` closed: frees its slot and starts a waiter on a new connection.
    /// Scheduler queue only.
    func closed(_ key: Key, _ connection: SMTPClientConnection) {
        guard let destination = destinations[key] else { return }
        destination.open = max(0, destination.open - 1)
        destination.idle.removeAll { $0 === connection }
        if !destination.waiting.isEmpty, destination.open < max(1, destination.waiting[0].limit) {
            let next = destination.waiting.removeFirst()
            destination.open += 1
            connectionsOpened += 1
            next.waiter(next.factory())
        }
        if destination.open == 0, destination.waiting.isEmpty, destination.idle.isEmpty {
            destinations[key] = nil
        }
    }

    /// Open connections for `key` (busy and idle). Scheduler queue only.
    func openCount(_ key: Key) -> Int { destinations[key]?.open ?? 0 }

    /// Asks every idle connection to QUIT. Scheduler queue only.
    func closeIdle() {
        for destination in destinations.values {
            for connection in destination.idle {
                connection.loop.execute { connection.quit() }
            }
        }
    }
}
