import Glibc
import NetworkIO

extension PeerTransport {
    /// One dialled lane to a peer: connect, health line, (with TLS) mutual TLS handshake and a
    /// check that the server's certificate names the peer, HMAC handshake, then write frames.
    /// Loop thread only.
    final class Outbound: ConnectionDelegate {
        enum State { case idle, connecting, greeting, tlsHandshake, awaitingServerMAC, ready, closed }

        unowned let transport: PeerTransport
        let peer: String
        let address: String
        let lane: Lane
        var state = State.idle
        var connection: Connection?
        var queued: [([UInt8], (() -> Void)?)] = []
        var queuedBytes = 0
        var reader: PeerFrame.Reader
        var serverNonce: [UInt8] = []
        var clientNonce: [UInt8] = []
        var backoff = 0.05
        var nextAttempt: UInt64 = 0
        var retryTimer = false

        init(transport: PeerTransport, peer: String, address: String, lane: Lane) {
            self.transport = transport
            self.peer = peer
            self.address = address
            self.lane = lane
            reader = PeerFrame.Reader(maxFrame: 1024)
        }

        var isReady: Bool { state == .ready }

        /// Writes or queues `bytes`; false when dropped.
        func send(_ bytes: [UInt8], onDrop: (() -> Void)?) -> Bool {
            switch state {
            case .closed:
                return false
            case .ready:
                guard let c = connection, c.pendingOutputCount < transport.maxQueuedBytes else { return false }
                c.write(bytes)
                return true
            default:
                guard queuedBytes + bytes.count <= transport.maxQueuedBytes else { return false }
                queued.append((bytes, onDrop))
                queuedBytes += bytes.count
                if state == .idle { dial() }
                return true
            }
        }

        func close() {
            state = .closed
            dropQueued()
            connection?.abort()
            connection = nil
        }

        func dial() {
            let now = EventLoop.now()
            if now < nextAttempt {
                if !retryTimer {
                    retryTimer = true
                    _ = transport.loop.schedule(after: Double(nextAttempt - now) / 1e9) { [weak self] in
                        guard let self else { return }
                        self.retryTimer = false
                        if self.state == .idle && !self.queued.isEmpty { self.dial() }
                    }
                }
                return
            }
            do {
                let target = try Self.resolve(address)
                state = .connecting
                reader = PeerFrame.Reader(maxFrame: 1024)
                connection = try Connection.connect(to: target, from: transport.sourceAddress, loop: transport.loop,
                                                    timeout: 2, delegate: self)
            } catch {
                failed("\(error)")
            }
        }

        static func resolve(_ address: String) throws -> SocketAddress {
            if let a = try? SocketAddress(parsing: address) { return a }
            // Host name: resolve once per dial (peers are normally configured by IP).
            guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
                throw ClusterError(.invalidConfig, "bad peer address", context: address)
            }
            let host = String(address[..<colon])
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var res: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, nil, &hints, &res) == 0, let first = res else {
                throw ClusterError(.network, "cannot resolve peer host", context: address)
            }
            defer { freeaddrinfo(res) }
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { dst in
                dst.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
            }
            let a = SocketAddress(storage: storage, length: first.pointee.ai_addrlen)
            return try SocketAddress(ip: a.ip, port: port)
        }

        private func failed(_ error: String) {
            guard state != .closed else { return }
            state = .idle
            connection = nil
            dropQueued()
            nextAttempt = EventLoop.now() + UInt64(backoff * 1e9)
            backoff = min(backoff * 2, 2.0)
            transport.linkFailed(peer, error: error)
        }

        func connectionDidConnect(_ connection: Connection) {
            state = .greeting
            // A peer (or something in its place) that stalls the handshake must not hold the lane.
            let timeout = transport.handshakeTimeout
            _ = transport.loop.schedule(after: timeout) { [weak self, weak connection] in
                guard let self, let connection, self.connection === connection, self.state != .ready else { return }
                connection.abort(NetworkError(.timedOut, "peer handshake not finished after \(timeout) s", context: self.peer))
            }
        }

        func connection(_ connection: Connection, didRead bytes: ArraySlice<UInt8>) {
            reader.append(bytes)
            do {
                if state == .greeting {
                    guard let line = try reader.line(max: 256) else { return }
                    let parts = String(decoding: line, as: UTF8.self).split(separator: " ")
                    guard parts.count == 3, parts[0] == "SENDARIX", String(parts[1]) == peer else {
                        throw ClusterError(.authentication, "unexpected greeting", context: peer)
                    }
                    if let tls = transport.clientTLS {
                        // Nothing may follow the health line in clear: the server waits for our ClientHello.
                        guard reader.available == 0 else {
                            throw ClusterError(.authentication, "plaintext after the greeting of a TLS peer", context: peer)
                        }
                        state = .tlsHandshake
                        connection.startTLS(context: tls, asClient: true)
                        return
                    }
                    guard let nonce = reader.take(PeerAuth.size) else {
                        state = .awaitingServerMAC  // nonce not here yet; handled below
                        serverNonce = []
                        return
                    }
                    serverNonce = nonce
                    sendHello(connection)
                }
                if state == .awaitingServerMAC {
                    if serverNonce.isEmpty {
                        guard let nonce = reader.take(PeerAuth.size) else { return }
                        serverNonce = nonce
                        sendHello(connection)
                    }
                    guard let mac = reader.take(PeerAuth.size) else { return }
                    let want = PeerAuth.serverMAC(secret: transport.secret, serverNonce: serverNonce,
                                                  clientNonce: clientNonce, serverID: peer)
                    guard PeerAuth.equal(mac, want) else {
                        throw ClusterError(.authentication, "peer failed the cluster secret check", context: peer)
                    }
                    state = .ready
                    backoff = 0.05
                    transport.lastError[peer] = nil
                    for (b, _) in queued { connection.write(b) }
                    queued = []
                    queuedBytes = 0
                }
            } catch {
                connection.abort()
                failed("\(error)")
            }
        }

        func connectionDidCompleteTLS(_ connection: Connection, info: TLSInfo) {
            let names = connection.peerCertificateNames ?? []
            guard PeerTransport.certificate(names, names: peer) else {
                let error = ClusterError(.authentication, "peer certificate does not name the node dialled",
                                         context: "\(peer): certificate \(names.joined(separator: ","))")
                transport.security("peer connection refused", ["peer": peer, "error": "\(error)"])
                self.connection = nil
                connection.abort()
                failed("\(error)")
                return
            }
            state = .awaitingServerMAC
            serverNonce = []
        }

        /// Discards queued frames (never written) and tells their senders.
        func dropQueued() {
            let dropped = queued
            queued = []
            queuedBytes = 0
            guard dropped.contains(where: { $0.1 != nil }) else { return }
            _ = transport.loop.schedule(after: 0) { for (_, onDrop) in dropped { onDrop?() } }
        }

        private func sendHello(_ connection: Connection) {
            clientNonce = PeerAuth.nonce()
            let hello = PeerAuth.hello(secret: transport.secret, serverNonce: serverNonce, clientNonce: clientNonce,
                                       clientID: transport.nodeID, lane: lane.rawValue | transport.formatVersion << 4)
            connection.write(PeerFrame(.hello, hello).encoded())
            state = .awaitingServerMAC
        }

        func connectionDidClose(_ connection: Connection, error: NetworkError?) {
            guard self.connection === connection else { return }
            if state == .tlsHandshake, let error {
                transport.security("peer TLS handshake failed", ["peer": peer, "error": "\(error)"])
            }
            failed(error?.description ?? "closed by peer")
        }
    }
}
