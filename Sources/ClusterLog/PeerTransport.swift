import Foundation
import Glibc
import NetworkIO

/// Authenticated, framed TCP between cluster nodes, running on one `EventLoop`.
///
/// Each node dials every peer on two lanes, `.control` (votes, heartbeats, responses, small appends,
/// forwarded proposals) and `.bulk` (large appends), so heartbeats never queue behind a big body;
/// it writes only on connections it dialled and reads only on those it accepted. Connections are
/// authenticated by `PeerAuth` (HMAC-SHA256 challenge-response over the cluster secret); a
/// connection that does not send a hello just gets the health line `SENDARIX <id> ok` (the peer
/// port's health protocol) and is closed. With `enableTLS` the health line is followed by a mutual
/// TLS 1.3 handshake (certificates from the cluster CA that name the node ids) and everything after
/// it, the HMAC handshake included, runs inside TLS. Accepted connections must finish their
/// handshake within `handshakeTimeout`, and at most `maxPendingHandshakes` (per source IP:
/// `maxPendingHandshakesPerIP`) may be pending at once. Lost connections are re-dialled on demand with
/// exponential backoff (50 ms doubling to 2 s, forgotten when the peer dials in:
/// `PeerTransport+Redial.swift`); frames sent while a lane is down are buffered up
/// to a bound and dropped when the dial fails (Raft retransmits).
///
/// Threading: all methods and callbacks run on `loop`'s thread (create it off-loop, then call
/// `start` through the loop); nothing blocks except the socket system calls.
public final class PeerTransport {
    /// A connection's traffic class.
    public enum Lane: UInt8, Sendable, CaseIterable {
        /// Small, latency-sensitive frames.
        case control = 0
        /// Large appends.
        case bulk = 1
    }

    /// Connection state of one peer, for `RaftLog.status()`.
    public struct PeerInfo: Sendable, Equatable {
        /// Peer node id.
        public var id: String
        /// Dial address.
        public var address: String
        /// Whether the control lane is connected and authenticated.
        public var connected: Bool
        /// Monotonic time (ns, `EventLoop.now()`) of the last frame received from the peer.
        public var lastContact: UInt64?
        /// Last connection error, if any.
        public var lastError: String?
        /// Frames dropped because the lane was down or saturated.
        public var droppedFrames: Int
    }

    /// The loop everything runs on.
    public let loop: EventLoop
    /// This node's id.
    public let nodeID: String
    let secret: [UInt8]
    /// The newest log entry format this node reads, sent in the high nibble of the hello's lane
    /// byte (builds before it send 0 there, and ignore it); and each peer's, from its hellos.
    var formatVersion: UInt8 = 1
    var peerFormats: [String: UInt8] = [:]
    /// Largest frame accepted or sent.
    public let maxFrame: Int
    /// Bytes a lane may queue (connecting or slow) before frames are dropped.
    public var maxQueuedBytes = 64 << 20
    /// Called for every frame received from an authenticated peer.
    public var onFrame: (String, PeerFrame) -> Void = { _, _ in }
    /// Called when a lane to a peer fails (Raft's `reportUnreachable`).
    public var onUnreachable: (String) -> Void = { _ in }
    /// Word of the health line (`ok` or `draining`).
    public var healthWord: () -> String = { "ok" }
    /// Called (loop thread) when a peer connection is refused for a security reason: a certificate
    /// that does not name the node id claimed in the handshake, a failed TLS handshake or secret
    /// check, too many pending handshakes, or a handshake past its deadline. Event and fields, for logs.
    public var onSecurityEvent: (String, [String: String]) -> Void = { _, _ in }
    /// Seconds a connection has to finish the handshake (TLS and HMAC) before it is closed, accepted
    /// or dialled.
    public var handshakeTimeout: Double = 5
    /// Most accepted connections still in their handshake at once; more are closed on accept.
    public var maxPendingHandshakes = 64
    /// Most accepted connections still in their handshake from one source IP; more are closed on accept.
    public var maxPendingHandshakesPerIP = 16
    /// Mutual TLS contexts (`enableTLS`); nil: plaintext frames after the HMAC handshake.
    var serverTLS: TLSContext?
    var clientTLS: TLSContext?
    /// Whether peer links use mutual TLS.
    public var tlsEnabled: Bool { serverTLS != nil }

    var addresses: [String: String] = [:]
    var links: [String: [Outbound]] = [:]
    var inbound: [ObjectIdentifier: Inbound] = [:]
    var lastContact: [String: UInt64] = [:]
    var lastError: [String: String] = [:]
    var dropped: [String: Int] = [:]
    private var listener: Listener?
    var stopped = false

    /// Creates a transport for node `nodeID` with the cluster `secret` and peers (id → `host:port`).
    /// Does not block; any thread (the object is then confined to `loop`).
    public init(loop: EventLoop, nodeID: String, secret: [UInt8], peers: [String: String], maxFrame: Int = 256 << 20) {
        self.loop = loop
        self.nodeID = nodeID
        self.secret = secret
        self.addresses = peers
        self.maxFrame = maxFrame
    }

    /// Binds `listen` (port 0 picks one) and starts accepting. Returns the bound address. Loop thread.
    @discardableResult
    public func start(listen: String) throws -> SocketAddress {
        let l = try Listener(address: try Listener.claim(try SocketAddress(parsing: listen)), loop: loop) {
            [weak self] fd, remote in
            self?.accept(fd: fd, remote: remote)
        }
        try l.start()
        listener = l
        // Outbound peer connections leave from the cluster address too (not whatever the kernel
        // picks), so firewalls and partitions between node addresses apply to both directions.
        let ip = l.address.ip
        if ip != "0.0.0.0" && ip != "::" { sourceAddress = try? SocketAddress(ip: ip, port: 0) }
        return l.address
    }

    /// The local address outbound peer connections bind to (the listen IP), when it is specific.
    private(set) var sourceAddress: SocketAddress?

    /// Closes the listener and every connection. Idempotent; loop thread.
    public func stop() {
        stopped = true
        listener?.close()
        listener = nil
        for (_, lanes) in links { for link in lanes { link.close() } }
        links = [:]
        for (_, i) in inbound { i.connection?.abort() }
        inbound = [:]
    }

    /// Adds or re-addresses a peer. Loop thread.
    public func setPeer(_ id: String, address: String) {
        if addresses[id] != address, let lanes = links[id] {
            for link in lanes { link.close() }
            links[id] = nil
        }
        addresses[id] = address
    }

    /// Forgets a peer and closes its lanes. Loop thread.
    public func removePeer(_ id: String) {
        addresses[id] = nil
        for link in links[id] ?? [] { link.close() }
        links[id] = nil
    }

    /// Queues `frame` to `peer` on `lane`, dialling if needed. Returns false if it was dropped
    /// (unknown peer, lane saturated, or transport stopped). Loop thread; never blocks.
    /// `onDrop` runs (on the loop, later) if the frame was queued but discarded before any byte
    /// of it was written, so the caller may safely resend it elsewhere.
    @discardableResult
    public func send(_ frame: PeerFrame, to peer: String, lane: Lane, onDrop: (() -> Void)? = nil) -> Bool {
        guard !stopped, let address = addresses[peer] else { return false }
        let bytes = frame.encoded()
        guard bytes.count - 4 <= maxFrame else { return false }
        let lanes = links[peer] ?? Lane.allCases.map { Outbound(transport: self, peer: peer, address: address, lane: $0) }
        links[peer] = lanes
        if lanes[Int(lane.rawValue)].send(bytes, onDrop: onDrop) { return true }
        dropped[peer, default: 0] += 1
        return false
    }

    /// Discards frames waiting for a lane to `peer` to connect (their `onDrop` callbacks run), so
    /// work queued for an unreachable leader can go to the new one at once. Loop thread.
    public func dropUnsent(to peer: String) {
        for link in links[peer] ?? [] where !link.isReady { link.dropQueued() }
    }

    /// Bytes queued or unsent on a lane to `peer` (for flow control of long streams). Loop thread.
    public func queuedBytes(to peer: String, lane: Lane) -> Int {
        guard let link = links[peer]?[Int(lane.rawValue)] else { return 0 }
        return link.isReady ? (link.connection?.pendingOutputCount ?? 0) : link.queuedBytes
    }

    /// Connection state of every peer, sorted by id. Loop thread.
    public func peerInfo() -> [PeerInfo] {
        addresses.keys.sorted().map { id in
            PeerInfo(id: id, address: addresses[id]!, connected: links[id]?.first?.isReady ?? false,
                     lastContact: lastContact[id], lastError: lastError[id], droppedFrames: dropped[id] ?? 0)
        }
    }

    private func accept(fd: Int32, remote: SocketAddress) {
        guard !stopped else {
            Glibc.close(fd)
            return
        }
        let ip = remote.ip
        let pending = inbound.values.filter { $0.peer == nil }
        let fromIP = pending.reduce(0) { $0 + ($1.remoteIP == ip ? 1 : 0) }
        if pending.count >= maxPendingHandshakes || fromIP >= maxPendingHandshakesPerIP {
            security("peer connection refused: too many pending handshakes",
                     ["remote": "\(remote)", "pending": "\(pending.count)", "pendingFromIP": "\(fromIP)"])
            Glibc.close(fd)
            return
        }
        let handler = Inbound(transport: self, remoteIP: ip)
        do {
            let c = try Connection.accepted(fd: fd, remote: remote, loop: loop, delegate: handler)
            handler.begin(c)
            inbound[ObjectIdentifier(handler)] = handler
        } catch {
            Glibc.close(fd)
        }
    }

    func received(_ frame: PeerFrame, from peer: String) {
        lastContact[peer] = EventLoop.now()
        onFrame(peer, frame)
    }

    func linkFailed(_ peer: String, error: String) {
        lastError[peer] = error
        onUnreachable(peer)
    }
}
