import NetworkIO

extension PeerTransport {
    /// One accepted connection: greeting (health line, then with TLS the mutual TLS handshake),
    /// nonce, hello check, then frames in. Loop thread only.
    final class Inbound: ConnectionDelegate {
        unowned let transport: PeerTransport
        let remoteIP: String
        var connection: Connection?
        var reader: PeerFrame.Reader
        let nonce = PeerAuth.nonce()
        var peer: String?
        /// Names of the verified client certificate (TLS only), set when the TLS handshake ends.
        var certificateNames: [String]?

        init(transport: PeerTransport, remoteIP: String) {
            self.transport = transport
            self.remoteIP = remoteIP
            reader = PeerFrame.Reader(maxFrame: 1024)
        }

        func begin(_ c: Connection) {
            connection = c
            let health = Array("SENDARIX \(transport.nodeID) \(transport.healthWord())\n".utf8)
            if let tls = transport.serverTLS {
                // The nonce goes out inside TLS (connectionDidCompleteTLS); nothing else in clear.
                c.write(health)
                c.startTLS(context: tls)
            } else {
                c.write(health + nonce)
            }
            let timeout = transport.handshakeTimeout
            _ = transport.loop.schedule(after: timeout) { [weak self] in
                guard let self, self.peer == nil, let c = self.connection else { return }
                self.transport.security("peer handshake deadline passed; connection closed",
                                        ["remote": "\(c.remoteAddress)", "timeout": "\(timeout)"])
                c.abort()
            }
        }

        func connectionDidCompleteTLS(_ connection: Connection, info: TLSInfo) {
            certificateNames = connection.peerCertificateNames ?? []
            connection.write(nonce)
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
                    if transport.serverTLS != nil && certificateNames == nil {
                        throw ClusterError(.authentication, "hello before the TLS handshake ended")
                    }
                    let hello = try PeerAuth.verifyHello(frame.payload, secret: transport.secret, serverNonce: nonce)
                    guard transport.addresses[hello.id] != nil else {
                        throw ClusterError(.authentication, "unknown node", context: hello.id)
                    }
                    if let names = certificateNames, !PeerTransport.certificate(names, names: hello.id) {
                        throw ClusterError(.authentication, "peer certificate does not name the node it claims to be",
                                           context: "claimed \(hello.id), certificate \(names.joined(separator: ","))")
                    }
                    peer = hello.id
                    transport.peerFormats[hello.id] = max(1, hello.lane >> 4)
                    connection.write(PeerAuth.serverMAC(secret: transport.secret, serverNonce: nonce,
                                                        clientNonce: hello.nonce, serverID: transport.nodeID))
                    reader = reader.withMaxFrame(transport.maxFrame)
                    transport.lastContact[hello.id] = EventLoop.now()
                    transport.peerDialledIn(hello.id)
                }
            } catch {
                transport.security("peer connection refused", ["remote": "\(connection.remoteAddress)", "error": "\(error)"])
                connection.abort()
            }
        }

        func connectionDidClose(_ connection: Connection, error: NetworkError?) {
            // Certificate problems are worth a line; a health probe hanging up after the line is not.
            if peer == nil, let error, error.code == .tlsFailure,
               "\(error)".contains("certificate") || "\(error)".contains("alert") {
                transport.security("peer TLS handshake failed", ["remote": "\(connection.remoteAddress)", "error": "\(error)"])
            }
            self.connection = nil
            transport.inbound[ObjectIdentifier(self)] = nil
        }
    }
}
