import NetworkIO

extension PeerTransport {
    /// Mutual-TLS material of one node (`cluster.tls`): PEM paths of its certificate (chain), its
    /// private key and the cluster CA certificate(s) every peer's certificate must chain to. Plain
    /// value; any thread.
    public struct TLSFiles: Sendable, Equatable {
        /// This node's certificate chain, PEM; it must name the node id (see `certificate(_:names:)`).
        public var certificate: String
        /// This node's private key, PEM.
        public var privateKey: String
        /// The cluster CA certificate(s), PEM.
        public var caFile: String
        /// Creates the value.
        public init(certificate: String, privateKey: String, caFile: String) {
            self.certificate = certificate
            self.privateKey = privateKey
            self.caFile = caFile
        }
    }

    /// Turns on mutual TLS 1.3 for every peer connection made or accepted from now on: both sides
    /// present a certificate that must verify against `files.caFile` and name the node id the peer
    /// claims (the HMAC handshake then runs inside the TLS channel). Call before `start`. Blocks on
    /// file reads; throws `NetworkError(.tlsConfiguration)` on unreadable or mismatched files.
    public func enableTLS(_ files: TLSFiles) throws {
        serverTLS = try TLSContext(mutualCertificate: files.certificate, privateKey: files.privateKey,
                                   caFile: files.caFile, server: true)
        clientTLS = try TLSContext(mutualCertificate: files.certificate, privateKey: files.privateKey,
                                   caFile: files.caFile, server: false)
    }

    /// Whether a certificate with `names` (as `Connection.peerCertificateNames`) belongs to node
    /// `id`: its subject CN, a DNS subjectAltName equal to `id`, or the URI subjectAltName
    /// `sendarix:node:<id>`. Exact, case-sensitive match. Pure.
    public static func certificate(_ names: [String], names id: String) -> Bool {
        names.contains("CN:\(id)") || names.contains("DNS:\(id)") || names.contains("URI:sendarix:node:\(id)")
    }

    /// Reports a refused or failed peer connection to `onSecurityEvent`.
    func security(_ event: String, _ fields: [String: String]) {
        onSecurityEvent(event, fields)
    }
}
