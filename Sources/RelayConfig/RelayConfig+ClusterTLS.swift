extension RelayConfig {
    /// `cluster.tls`: mutual TLS 1.3 between nodes. Every node's certificate is issued by the
    /// cluster CA and names its node id (subject CN, a DNS subjectAltName, or the URI
    /// subjectAltName `sendarix:node:<id>`); see deploy/CLUSTER-TLS.md. Paths are absolute after load.
    public struct ClusterTLS: Sendable, Codable, Equatable {
        /// This node's certificate chain, PEM.
        public var certificate: String
        /// This node's private key, PEM.
        public var privateKey: String
        /// The cluster CA certificate(s) every peer certificate must chain to, PEM.
        public var caFile: String
        /// Creates the section.
        public init(certificate: String, privateKey: String, caFile: String) {
            self.certificate = certificate
            self.privateKey = privateKey
            self.caFile = caFile
        }
    }
}
