import COpenSSL

/// A private key that signs: RSA (PKCS #1 v1.5 with SHA-256) or Ed25519 (PureEdDSA), as DKIM
/// (RFC 6376, RFC 8463) and JWTs use them. Generated, or loaded from its stored bytes or PEM.
///
/// `@unchecked Sendable`: the type owns an OpenSSL `EVP_PKEY` that is never mutated after
/// creation; OpenSSL 3 allows concurrent signing with one key as each call uses its own
/// `EVP_MD_CTX`. Signing blocks for about a millisecond (RSA-2048) or tens of microseconds
/// (Ed25519); any thread.
public final class SigningKey: @unchecked Sendable {
    /// The key type.
    public enum Algorithm: String, Sendable, Codable, CaseIterable {
        case rsa
        case ed25519
    }

    let pkey: OpaquePointer
    /// The key type.
    public let algorithm: Algorithm

    private init(pkey: OpaquePointer, algorithm: Algorithm) {
        self.pkey = pkey
        self.algorithm = algorithm
    }

    deinit { EVP_PKEY_free(pkey) }

    /// A new random key: RSA of `rsaBits` (at least 2048) or Ed25519. Blocks (RSA-2048 takes
    /// ~50–500 ms).
    public static func generate(_ algorithm: Algorithm, rsaBits: Int = 2048) throws -> SigningKey {
        ERR_clear_error()
        switch algorithm {
        case .rsa:
            guard rsaBits >= 2048, rsaBits <= 8192 else {
                throw CryptoError(.invalidInput, "RSA keys must have 2048 to 8192 bits (RFC 8301 forbids fewer than 1024 and we refuse fewer than 2048)", context: "generate")
            }
            guard let k = sx_rsa_generate(UInt32(rsaBits)) else { throw CryptoError.openSSL(.operationFailed, "RSA key generation") }
            return SigningKey(pkey: k, algorithm: .rsa)
        case .ed25519:
            guard let k = sx_ed25519_generate() else { throw CryptoError.openSSL(.operationFailed, "Ed25519 key generation") }
            return SigningKey(pkey: k, algorithm: .ed25519)
        }
    }

    /// Loads a key from `privateKeyBytes` as produced by that property: DER (PKCS #1 or #8) for
    /// RSA, the 32-byte seed for Ed25519.
    public convenience init(algorithm: Algorithm, privateKeyBytes bytes: [UInt8]) throws {
        ERR_clear_error()
        switch algorithm {
        case .rsa:
            var p: UnsafePointer<UInt8>? = nil
            let k: OpaquePointer? = bytes.withUnsafeBufferPointer { b in
                p = b.baseAddress
                return d2i_AutoPrivateKey(nil, &p, b.count)
            }
            guard let k else { throw CryptoError.openSSL(.invalidKey, "RSA private key DER") }
            guard EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA else {
                EVP_PKEY_free(k)
                throw CryptoError(.invalidKey, "not an RSA key", context: "load")
            }
            self.init(pkey: k, algorithm: .rsa)
        case .ed25519:
            guard bytes.count == 32 else { throw CryptoError(.invalidKey, "an Ed25519 private key is 32 bytes, got \(bytes.count)") }
            guard let k = bytes.withUnsafeBufferPointer({ EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32) }) else {
                throw CryptoError.openSSL(.invalidKey, "Ed25519 private key")
            }
            self.init(pkey: k, algorithm: .ed25519)
        }
    }

    /// Loads a PEM private key (`BEGIN PRIVATE KEY` or `BEGIN RSA PRIVATE KEY`), RSA or Ed25519.
    public convenience init(pem: String) throws {
        ERR_clear_error()
        let bytes = Array(pem.utf8)
        let k: OpaquePointer? = bytes.withUnsafeBufferPointer { b in
            guard let bio = BIO_new_mem_buf(b.baseAddress, Int32(b.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        guard let k else { throw CryptoError.openSSL(.invalidKey, "PEM private key") }
        switch EVP_PKEY_get_base_id(k) {
        case EVP_PKEY_RSA:
            guard EVP_PKEY_get_bits(k) >= 2048 else {
                EVP_PKEY_free(k)
                throw CryptoError(.invalidKey, "RSA keys under 2048 bits are refused", context: "PEM private key")
            }
            self.init(pkey: k, algorithm: .rsa)
        case EVP_PKEY_ED25519:
            self.init(pkey: k, algorithm: .ed25519)
        default:
            EVP_PKEY_free(k)
            throw CryptoError(.invalidKey, "only RSA and Ed25519 keys are supported", context: "PEM private key")
        }
    }

    /// Key size in bits (2048 for RSA-2048, 253 for Ed25519).
    public var bits: Int { Int(EVP_PKEY_get_bits(pkey)) }

    /// The private key as stored: DER for RSA, the 32-byte seed for Ed25519. Secret.
    public var privateKeyBytes: [UInt8] {
        switch algorithm {
        case .rsa:
            var out: UnsafeMutablePointer<UInt8>? = nil
            let n = i2d_PrivateKey(pkey, &out)
            guard n > 0, let out else { return [] }
            defer { sx_OPENSSL_free(out) }
            return Array(UnsafeBufferPointer(start: out, count: Int(n)))
        case .ed25519:
            var len = 32
            var seed = [UInt8](repeating: 0, count: 32)
            _ = seed.withUnsafeMutableBufferPointer { EVP_PKEY_get_raw_private_key(pkey, $0.baseAddress, &len) }
            return seed
        }
    }

    /// The public key as DKIM publishes it (`p=`): SubjectPublicKeyInfo DER for RSA, the raw 32
    /// bytes for Ed25519 (RFC 8463 §4.2).
    public var publicKeyBytes: [UInt8] {
        switch algorithm {
        case .rsa:
            var out: UnsafeMutablePointer<UInt8>? = nil
            let n = i2d_PUBKEY(pkey, &out)
            guard n > 0, let out else { return [] }
            defer { sx_OPENSSL_free(out) }
            return Array(UnsafeBufferPointer(start: out, count: Int(n)))
        case .ed25519:
            var len = 32
            var raw = [UInt8](repeating: 0, count: 32)
            _ = raw.withUnsafeMutableBufferPointer { EVP_PKEY_get_raw_public_key(pkey, $0.baseAddress, &len) }
            return raw
        }
    }

    /// Signs `data`: RSASSA-PKCS1-v1_5 over SHA-256(data) for RSA, Ed25519 over `data` itself (a
    /// DKIM caller passes the SHA-256 hash, RFC 8463 §3).
    public func sign(_ data: [UInt8]) throws -> [UInt8] {
        ERR_clear_error()
        guard let ctx = EVP_MD_CTX_new() else { throw CryptoError.openSSL(.operationFailed, "EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        let md = algorithm == .rsa ? EVP_sha256() : nil
        guard EVP_DigestSignInit(ctx, nil, md, nil, pkey) == 1 else { throw CryptoError.openSSL(.operationFailed, "sign init") }
        var length = 0
        let sizeOK = data.withUnsafeBufferPointer { EVP_DigestSign(ctx, nil, &length, $0.baseAddress, $0.count) }
        guard sizeOK == 1 else { throw CryptoError.openSSL(.operationFailed, "sign size") }
        var signature = [UInt8](repeating: 0, count: length)
        let ok = data.withUnsafeBufferPointer { d in
            signature.withUnsafeMutableBufferPointer { s in EVP_DigestSign(ctx, s.baseAddress, &length, d.baseAddress, d.count) }
        }
        guard ok == 1 else { throw CryptoError.openSSL(.operationFailed, "sign") }
        return Array(signature.prefix(length))
    }

    /// True when `signature` is valid for `data` under the public key `publicKeyBytes` (in the
    /// form `publicKeyBytes` produces). Never throws: anything malformed is false.
    public static func verify(signature: [UInt8], data: [UInt8], publicKey: [UInt8], algorithm: Algorithm) -> Bool {
        ERR_clear_error()
        defer { ERR_clear_error() }
        let key: OpaquePointer?
        switch algorithm {
        case .rsa:
            var p: UnsafePointer<UInt8>? = nil
            key = publicKey.withUnsafeBufferPointer { b in
                p = b.baseAddress
                return d2i_PUBKEY(nil, &p, b.count)
            }
        case .ed25519:
            guard publicKey.count == 32 else { return false }
            key = publicKey.withUnsafeBufferPointer { EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32) }
        }
        guard let key else { return false }
        defer { EVP_PKEY_free(key) }
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        let md = algorithm == .rsa ? EVP_sha256() : nil
        guard EVP_DigestVerifyInit(ctx, nil, md, nil, key) == 1 else { return false }
        let rc = signature.withUnsafeBufferPointer { s in
            data.withUnsafeBufferPointer { d in EVP_DigestVerify(ctx, s.baseAddress, s.count, d.baseAddress, d.count) }
        }
        return rc == 1
    }
}
