import COpenSSL

extension TLSContext {
    /// A context for mutual TLS between nodes of one cluster: TLS 1.3 only, this node's certificate
    /// chain and key, and the peer's certificate required and verified against the CA certificates
    /// in `caFile` (no system trust, no host-name check: the caller checks the names with
    /// `Connection.peerCertificateNames`). `server` picks the accepting role, which demands a client
    /// certificate (`SSL_VERIFY_FAIL_IF_NO_PEER_CERT`); the dialling role refuses a server whose chain
    /// does not verify. Blocks on file reads; call at start-up.
    public convenience init(mutualCertificate certificatePath: String, privateKey keyPath: String, caFile: String,
                            server: Bool) throws {
        if server {
            try self.init(serverCertificate: certificatePath, privateKey: keyPath)
        } else {
            try self.init(clientVerification: .caFile(caFile))
            if SSL_CTX_use_certificate_chain_file(ctx, certificatePath) != 1 {
                throw TLSContext.error("loading certificate \(certificatePath)", code: .tlsConfiguration)
            }
            if SSL_CTX_use_PrivateKey_file(ctx, keyPath, SSL_FILETYPE_PEM) != 1 {
                throw TLSContext.error("loading private key \(keyPath)", code: .tlsConfiguration)
            }
            if SSL_CTX_check_private_key(ctx) != 1 {
                throw TLSContext.error("private key does not match certificate", code: .tlsConfiguration)
            }
        }
        _ = sx_SSL_CTX_set_min_proto_version(ctx, sx_TLS1_3_VERSION())
        if server {
            if SSL_CTX_load_verify_locations(ctx, caFile, nil) != 1 {
                throw TLSContext.error("loading CA file \(caFile)", code: .tlsConfiguration)
            }
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
            // Session resumption would skip the client-certificate check on reconnects.
            _ = sx_SSL_CTX_set_session_cache_mode(ctx, Int(SSL_SESS_CACHE_OFF))
            _ = sx_SSL_CTX_set_options(ctx, sx_SSL_OP_NO_TICKET())
        }
    }
}
