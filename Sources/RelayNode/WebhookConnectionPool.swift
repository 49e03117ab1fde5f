import NetworkIO
import SendarixSupport

/// Idle kept-alive connections to webhook receivers, by receiver (scheme, host, address), for
/// one event loop: a call takes one instead of connecting (and, over TLS, handshaking) again.
/// An idle connection that the receiver closes, or that sends anything, is dropped; one idle for
/// `idleMillis` is closed. Loop-confined: used only on its loop's thread.
final class WebhookConnectionPool: ConnectionDelegate, @unchecked Sendable {
    // Safe: every method runs on the loop thread (the dispatcher hands work over with `execute`).
    /// Idle connections kept per receiver (the largest endpoint concurrency).
    static let maxIdlePerKey = 64
    /// Idle connections older than this are closed rather than reused.
    static let idleMillis: Int64 = 15_000

    private var idle: [String: [(connection: Connection, since: Int64)]] = [:]

    /// An idle connection to `key`, or nil (then connect).
    func take(_ key: String) -> Connection? {
        sweep(now: WallClock.nowMillis())
        guard var list = idle[key], let newest = list.popLast() else { return nil }
        idle[key] = list.isEmpty ? nil : list
        newest.connection.delegate = nil
        return newest.connection
    }

    /// Keeps `connection` (its exchange ended with the connection reusable) for the next call to `key`.
    func put(_ connection: Connection, key: String) {
        let now = WallClock.nowMillis()
        sweep(now: now)
        connection.delegate = self
        connection.userInfo = KeyBox(key)
        idle[key, default: []].append((connection, now))
        if idle[key]!.count > Self.maxIdlePerKey {
            let oldest = idle[key]!.removeFirst().connection
            oldest.delegate = nil
            oldest.abort()
        }
    }

    /// Idle connections in the pool (tests).
    var idleCount: Int { idle.values.reduce(0) { $0 + $1.count } }

    private func sweep(now: Int64) {
        for (key, list) in idle {
            guard let first = list.first, now - first.since >= Self.idleMillis else { continue }
            let keep = list.filter { now - $0.since < Self.idleMillis }
            for old in list where now - old.since >= Self.idleMillis {
                old.connection.delegate = nil
                old.connection.abort()
            }
            idle[key] = keep.isEmpty ? nil : keep
        }
    }

    private func remove(_ connection: Connection) {
        guard let key = (connection.userInfo as? KeyBox)?.key, var list = idle[key] else { return }
        list.removeAll { $0.connection === connection }
        idle[key] = list.isEmpty ? nil : list
    }

    func connection(_ connection: Connection, didRead bytes: ArraySlice<UInt8>) {
        // Nothing is asked on an idle connection: whatever comes is not ours to read.
        remove(connection)
        connection.delegate = nil
        connection.abort()
    }

    func connectionDidClose(_ connection: Connection, error: NetworkError?) { remove(connection) }

    private final class KeyBox {
        let key: String
        init(_ key: String) { self.key = key }
    }
}
