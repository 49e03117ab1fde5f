import Synchronization

/// Process-wide counts of completed TLS handshakes by protocol version and side (server: we
/// accepted, client: we dialled), for the metrics endpoint. One relaxed atomic add per
/// handshake. Any thread.
public enum TLSHandshakeStats {
    /// The versions counted on their own; anything else is `other`.
    public static let versions = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", "other"]
    private static let server = Counters()
    private static let client = Counters()

    private final class Counters: Sendable {
        let cells: [Cell] = versions.map { _ in Cell() }
    }

    private final class Cell: Sendable {
        let n = Atomic<UInt64>(0)
    }

    /// Counts one handshake. Any thread.
    static func record(version: String, isClient: Bool) {
        let i = versions.firstIndex(of: version) ?? versions.count - 1
        (isClient ? client : server).cells[i].n.add(1, ordering: .relaxed)
    }

    /// (side, version, count) for every version. Any thread.
    public static func snapshot() -> [(side: String, version: String, count: UInt64)] {
        var out: [(side: String, version: String, count: UInt64)] = []
        for (side, c) in [("server", server), ("client", client)] {
            for (i, v) in versions.enumerated() { out.append((side, v, c.cells[i].n.load(ordering: .relaxed))) }
        }
        return out
    }
}
