import COpenSSL

extension Connection {
    /// The names in the peer's certificate once TLS is established: `CN:<common name>`,
    /// `DNS:<subjectAltName dNSName>` and `URI:<subjectAltName URI>`, in certificate order; nil
    /// without TLS or without a peer certificate. The chain is only verified if the context asked
    /// for it (e.g. `TLSContext(mutualCertificate:…)`). Loop thread only.
    public var peerCertificateNames: [String]? {
        guard let ssl, isTLS else { return nil }
        var buffer = [CChar](repeating: 0, count: 8192)
        let n = sx_peer_certificate_names(ssl, &buffer, Int32(buffer.count))
        guard n >= 0 else { return nil }
        return String(nulTerminated: buffer).split(separator: "\n").map(String.init)
    }
}
