import Foundation
import NetworkIO
import RelayConfig
import Synchronization

/// Tracks which cluster members are alive, for the DNS responder and `/health`.
///
/// Each node listens on `listen.peer` and answers every connection with one status line
/// (`SENDARIX <node-id> ok|draining`); every second it probes each peer the same way. A peer is
/// healthy while its last `ok` answer is under `staleAfter` seconds old. This node counts itself
/// healthy only while it is not draining and it can reach a majority of the cluster, so a node cut
/// off from the others stops advertising itself. (The Raft transport will carry this later.)
/// Thread-safe; the probe and listener run on one event loop.
final class ClusterHealth: @unchecked Sendable {
    // Safe: `listener`, `probing` and `timer` are touched only on `loop`; shared state is in `state`.
    struct PeerState: Sendable {
        var id: String
        var address: String
        var region: String
        var lastOK: Date?
        var lastError: String?
    }

    let nodeID: String
    let loop: EventLoop
    let staleAfter: Double
    private let state: Mutex<[String: PeerState]>
    private let draining: @Sendable () -> Bool
    private var listener: Listener?
    /// With Raft: true while this node is a voter in touch with a quorum (replaces the probe majority).
    var quorumCheck: (@Sendable () -> Bool)?
    private var probing: Set<String> = []
    private var stopped = false

    init(config: RelayConfig, loop: EventLoop, staleAfter: Double = 4, draining: @escaping @Sendable () -> Bool) {
        nodeID = config.node.id
        self.loop = loop
        self.staleAfter = staleAfter
        self.draining = draining
        var peers: [String: PeerState] = [:]
        for p in config.cluster.peers {
            peers[p.id] = PeerState(id: p.id, address: p.address.description, region: p.region)
        }
        state = Mutex(peers)
    }

    /// Binds the peer port (if configured) and starts probing. Blocks until listening.
    func start(listen: String?) throws -> String? {
        var bound: String?
        if let listen {
            let l = try Listener(address: try Listener.claim(try SocketAddress(parsing: listen)), loop: loop) { [self] fd, _ in
                let line = "SENDARIX \(nodeID) \(draining() ? "draining" : "ok")\n"
                SMTPServer.rejectAndClose(fd: fd, reply: line)
            }
            try SMTPServer.onLoop(loop) { try l.start() }
            listener = l
            bound = l.address.description
        }
        let me = LoopBound(self, loop: loop)
        loop.execute { me.value.tick() }
        return bound
    }

    /// Stops probing and closes the listener. Blocks briefly.
    func stop() {
        try? SMTPServer.onLoop(loop) { [self] in
            stopped = true
            listener?.close()
        }
    }

    private func tick() {
        guard !stopped else { return }
        for peer in state.withLock({ Array($0.values) }) where !probing.contains(peer.id) {
            probe(peer)
        }
        loop.schedule(after: 1.0) { [weak self] in self?.tick() }
    }

    private func probe(_ peer: PeerState) {
        guard let address = try? SocketAddress(parsing: peer.address) else {
            record(peer.id, ok: false, error: "bad address")
            return
        }
        probing.insert(peer.id)
        let prober = Prober(health: self, peerID: peer.id)
        do {
            let c = try Connection.connect(to: address, loop: loop, timeout: 1.5, delegate: prober)
            prober.connection = c
        } catch {
            probing.remove(peer.id)
            record(peer.id, ok: false, error: "\(error)")
        }
    }

    fileprivate func finished(_ peerID: String, ok: Bool, error: String?) {
        probing.remove(peerID)
        record(peerID, ok: ok, error: error)
    }

    private func record(_ id: String, ok: Bool, error: String?) {
        state.withLock { s in
            if ok { s[id]?.lastOK = Date(); s[id]?.lastError = nil } else { s[id]?.lastError = error }
        }
    }

    /// Snapshot of the peers.
    func peers() -> [PeerState] { state.withLock { Array($0.values) }.sorted { $0.id < $1.id } }

    /// True when the peer answered `ok` recently.
    func isHealthy(_ p: PeerState, now: Date = Date()) -> Bool {
        guard let t = p.lastOK else { return false }
        return now.timeIntervalSince(t) < staleAfter
    }

    /// This node advertises itself only while not draining and in touch with a majority.
    func selfHealthy() -> Bool {
        if draining() { return false }
        if let quorumCheck { return quorumCheck() }
        let ps = peers()
        let reachable = ps.filter { isHealthy($0) }.count + 1
        return reachable * 2 > ps.count + 1
    }

    /// One probe connection: reads the status line, then closes.
    final class Prober: ConnectionDelegate {
        unowned let health: ClusterHealth
        let peerID: String
        var connection: Connection?
        var buffer: [UInt8] = []
        var done = false

        init(health: ClusterHealth, peerID: String) {
            self.health = health
            self.peerID = peerID
        }

        func connection(_ connection: Connection, didRead bytes: ArraySlice<UInt8>) {
            buffer += bytes
            guard let nl = buffer.firstIndex(of: 0x0A) else {
                if buffer.count > 256 { connection.abort() }
                return
            }
            let parts = String(decoding: buffer[..<nl], as: UTF8.self).split(separator: " ")
            let ok = parts.count == 3 && parts[0] == "SENDARIX" && String(parts[1]) == peerID && parts[2] == "ok"
            done = true
            health.finished(peerID, ok: ok, error: ok ? nil : "status: \(parts.dropFirst(2).joined(separator: " "))")
            connection.close()
        }

        func connectionDidClose(_ connection: Connection, error: NetworkError?) {
            if !done {
                done = true
                health.finished(peerID, ok: false, error: error?.description ?? "closed without status")
            }
            self.connection = nil
        }
    }
}
