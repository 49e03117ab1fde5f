import COpenSSL
import Glibc
import Synchronization

/// The negotiated TLS parameters of a session, for logs and the Received header.
public struct TLSInfo: Sendable, Equatable {
    /// e.g. `TLSv1.3`.
    public var version: String
    /// e.g. `TLS_AES_256_GCM_SHA384`.
    public var cipher: String
    /// Creates the value.
    public init(version: String, cipher: String) {
        self.version = version
        self.cipher = cipher
    }
}

/// An OpenSSL `SSL_CTX` for one role (server or client), TLS 1.2 and 1.3 only, modern ciphers.
///
/// Thread-safe: OpenSSL contexts are reference counted and safe to use from several threads once
/// configured; this type never mutates the context after `init`.
public final class TLSContext: @unchecked Sendable {
    // Safe: owns one SSL_CTX that is fully configured in init and read-only afterwards.
    let ctx: OpaquePointer

    /// Server-side verification choices for client contexts.
    public enum Verification: Sendable {
        /// Encrypt without checking the peer (opportunistic/required TLS).
        case none
        /// Check the chain against the system CA store and the host name.
        case systemTrust
        /// Check against the CA certificates in this PEM file (tests) and the host name.
        case caFile(String)
    }

    private static let ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        + "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

    /// Loads a server context from PEM files. Blocks on file reads; call at start-up or reload.
    public init(serverCertificate certificatePath: String, privateKey keyPath: String) throws {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw TLSContext.error("SSL_CTX_new") }
        self.ctx = ctx
        try configureCommon()
        _ = sx_SSL_CTX_set_options(ctx, sx_SSL_OP_CIPHER_SERVER_PREFERENCE())
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

    /// Creates a client context (outbound delivery) with the given verification. With `enforce`
    /// false the trust anchors are loaded and the chain (and, with `verifyHost`, the name) checked,
    /// but a failure does not stop the handshake: read `Connection.peerVerifyResult` afterwards
    /// (MTA-STS `testing` mode reports what enforcement would have refused).
    public init(clientVerification: Verification, enforce: Bool = true) throws {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw TLSContext.error("SSL_CTX_new") }
        self.ctx = ctx
        try configureCommon()
        switch clientVerification {
        case .none:
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        case .systemTrust:
            SSL_CTX_set_default_verify_paths(ctx)
            SSL_CTX_set_verify(ctx, enforce ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nil)
        case .caFile(let path):
            if SSL_CTX_load_verify_locations(ctx, path, nil) != 1 {
                throw TLSContext.error("loading CA file \(path)", code: .tlsConfiguration)
            }
            SSL_CTX_set_verify(ctx, enforce ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nil)
        }
    }

    private func configureCommon() throws {
        _ = sx_SSL_CTX_set_min_proto_version(ctx, sx_TLS1_2_VERSION())
        _ = sx_SSL_CTX_set_max_proto_version(ctx, sx_TLS1_3_VERSION())
        _ = sx_SSL_CTX_set_options(ctx, sx_SSL_OP_NO_COMPRESSION() | sx_SSL_OP_NO_RENEGOTIATION())
        _ = sx_SSL_CTX_set_mode(ctx, sx_SSL_MODE_RELEASE_BUFFERS() | sx_SSL_MODE_ENABLE_PARTIAL_WRITE()
                                | sx_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER())
        if SSL_CTX_set_cipher_list(ctx, TLSContext.ciphers) != 1 {
            throw TLSContext.error("cipher list", code: .tlsConfiguration)
        }
    }

    deinit { SSL_CTX_free(ctx) }

    /// Writes a new RSA-2048 self-signed certificate for `commonName`. Blocks (~100 ms).
    public static func generateSelfSigned(commonName: String, certificatePath: String, keyPath: String) throws {
        ERR_clear_error()
        if sx_generate_self_signed(commonName, certificatePath, keyPath) != 1 {
            throw error("generating self-signed certificate", code: .tlsConfiguration)
        }
    }

    /// Maps the OpenSSL error queue to a `NetworkError`. The only place OpenSSL errors are read.
    static func error(_ context: String, code: NetworkError.Code = .tlsFailure) -> NetworkError {
        var reasons: [String] = []
        while true {
            let e = ERR_get_error()
            if e == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(e, &buffer, buffer.count)
            reasons.append(String(nulTerminated: buffer))
        }
        if reasons.isEmpty && errno != 0 && code == .tlsFailure {
            return NetworkError(code, String(cString: strerror(errno)), context: context)
        }
        return NetworkError(code, reasons.isEmpty ? "unknown OpenSSL error" : reasons.joined(separator: "; "),
                            context: context)
    }
}

/// Holds the current server `TLSContext` so that SIGHUP can swap it while sessions keep theirs.
public final class TLSContextHolder: Sendable {
    private let current: Mutex<TLSContext?>
    /// Creates a holder with an initial context (nil: TLS unavailable).
    public init(_ context: TLSContext?) { current = Mutex(context) }
    /// The context new sessions should use. Thread-safe.
    public var context: TLSContext? { current.withLock { $0 } }
    /// Replaces the context; existing sessions keep the one they started with. Thread-safe.
    public func replace(_ context: TLSContext) { current.withLock { $0 = context } }
}
