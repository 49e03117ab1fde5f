import NetworkIO

extension PeerTransport {
    /// One accepted connection: greeting (health line + nonce), hello check, then frames in.
    /// Loop thread only.
    final class Inbound: ConnectionDelegate {
        unowned let transport: PeerTransport
        var connection: Connection?
        var reader: PeerFrame.Reader
        let nonce = PeerAuth.nonce()
        var peer: String?

        init(transport: PeerTransport) {
            self.transport = transport
            reader = PeerFrame.Reader(maxFrame: 1024)
        }

        func begin(_ c: Connection) {
            connection = c
            c.write(Array("SENDARIX \(transport.nodeID) \(transport.healthWord())\n".utf8) + nonce)
            _ = transport.loop.schedule(after: 5) { [weak self] in
                guard let self, self.peer == nil else { return }
                self.connection?.abort()
            }
        }

        func connection(_ connection: Connection, didRead bytes: ArraySlice<UInt8>) {
            reader.append(bytes)
            do {
                while let frame = try reader.frame() {
                    if let peer {
                        transport.received(frame, from: peer)
                        continue
                    }
                    guard frame.kind == .hello else { throw ClusterError(.authentication, "expected hello") }
                    let hello = try PeerAuth.verifyHello(frame.payload, secret: transport.secret, serverNonce: nonce)
                    guard transport.addresses[hello.id] != nil else {
                        throw ClusterError(.authentication, "unknown node", context: hello.id)
                    }
                    peer = hello.id
                    connection.write(PeerAuth.serverMAC(secret: transport.secret, serverNonce: nonce,
                                                        clientNonce: hello.nonce, serverID: transport.nodeID))
                    reader = reader.withMaxFrame(transport.maxFrame)
                    transport.lastContact[hello.id] = EventLoop.now()
                }
            } catch {
                connection.abort()
            }
        }

        func connectionDidClose(_ connection: Connection, error: NetworkError?) {
            self.connection = nil
            transport.inbound[ObjectIdentifier(self)] = nil
        }
    }
}
