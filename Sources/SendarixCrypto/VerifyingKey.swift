import COpenSSL

/// A public key that checks JWS signatures (RFC 7518): RS256 (RSASSA-PKCS1-v1_5 with SHA-256,
/// 2048 bits or more), ES256 (ECDSA P-256 with SHA-256, signatures as raw `r || s`) and EdDSA
/// (Ed25519). Built from the key's numbers as a JWK carries them.
///
/// `@unchecked Sendable`: owns an OpenSSL `EVP_PKEY` never mutated after creation; each check
/// uses its own `EVP_MD_CTX`. A check takes microseconds (tens for RSA); any thread.
public final class VerifyingKey: @unchecked Sendable {
    /// The key type and the JWS algorithm it verifies.
    public enum Algorithm: String, Sendable, Equatable, CaseIterable {
        case rs256 = "RS256"
        case es256 = "ES256"
        case edDSA = "EdDSA"
    }

    let pkey: OpaquePointer
    /// The one JWS algorithm this key verifies.
    public let algorithm: Algorithm

    deinit { EVP_PKEY_free(pkey) }

    private init(pkey: OpaquePointer, algorithm: Algorithm) {
        self.pkey = pkey
        self.algorithm = algorithm
    }

    /// An RSA public key from its modulus and exponent (big-endian bytes). Throws `.invalidKey`
    /// for keys under 2048 bits or bytes OpenSSL refuses.
    public convenience init(rsaModulus n: [UInt8], exponent e: [UInt8]) throws {
        let spki = DER.sequence([
            DER.sequence([DER.rsaEncryption, [0x05, 0x00]]),
            DER.bitString(DER.sequence([DER.integer(n), DER.integer(e)])),
        ])
        let key = try Self.decodePublicKey(spki, context: "RSA JWK")
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA, EVP_PKEY_get_bits(key) >= 2048 else {
            EVP_PKEY_free(key)
            throw CryptoError(.invalidKey, "RSA keys under 2048 bits are refused", context: "RSA JWK")
        }
        self.init(pkey: key, algorithm: .rs256)
    }

    /// A P-256 public key from its coordinates (32 bytes each). Throws `.invalidKey` when the
    /// point is not on the curve.
    public convenience init(p256X x: [UInt8], y: [UInt8]) throws {
        guard x.count == 32, y.count == 32 else { throw CryptoError(.invalidKey, "P-256 coordinates are 32 bytes", context: "EC JWK") }
        let spki = DER.sequence([
            DER.sequence([DER.ecPublicKey, DER.prime256v1]),
            DER.bitString([0x04] + x + y),
        ])
        self.init(pkey: try Self.decodePublicKey(spki, context: "EC JWK"), algorithm: .es256)
    }

    /// An Ed25519 public key (32 bytes).
    public convenience init(ed25519 raw: [UInt8]) throws {
        guard raw.count == 32,
              let k = raw.withUnsafeBufferPointer({ EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32) })
        else { throw CryptoError(.invalidKey, "an Ed25519 public key is 32 bytes", context: "OKP JWK") }
        self.init(pkey: k, algorithm: .edDSA)
    }

    private static func decodePublicKey(_ der: [UInt8], context: String) throws -> OpaquePointer {
        ERR_clear_error()
        var p: UnsafePointer<UInt8>? = nil
        let key: OpaquePointer? = der.withUnsafeBufferPointer { b in
            p = b.baseAddress
            return d2i_PUBKEY(nil, &p, b.count)
        }
        guard let key else { throw CryptoError.openSSL(.invalidKey, context) }
        return key
    }

    /// True when `signature` (JWS form) over `data` is valid under this key. Never throws:
    /// anything malformed is false.
    public func verify(signature: [UInt8], data: [UInt8]) -> Bool {
        ERR_clear_error()
        defer { ERR_clear_error() }
        var sig = signature
        if algorithm == .es256 {
            // JWS carries r || s (RFC 7518 3.4); OpenSSL wants the DER ECDSA-Sig-Value.
            guard signature.count == 64 else { return false }
            sig = DER.sequence([DER.integer(Array(signature[0..<32])), DER.integer(Array(signature[32...]))])
        }
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        let md = algorithm == .edDSA ? nil : EVP_sha256()
        guard EVP_DigestVerifyInit(ctx, nil, md, nil, pkey) == 1 else { return false }
        let rc = sig.withUnsafeBufferPointer { s in
            data.withUnsafeBufferPointer { d in EVP_DigestVerify(ctx, s.baseAddress, s.count, d.baseAddress, d.count) }
        }
        return rc == 1
    }

    /// Just enough DER to write a SubjectPublicKeyInfo and an ECDSA signature.
    enum DER {
        static let rsaEncryption: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]
        static let ecPublicKey: [UInt8] = [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]
        static let prime256v1: [UInt8] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]

        static func length(_ n: Int) -> [UInt8] {
            if n < 0x80 { return [UInt8(n)] }
            var bytes: [UInt8] = []
            var v = n
            while v > 0 {
                bytes.insert(UInt8(v & 0xFF), at: 0)
                v >>= 8
            }
            return [0x80 | UInt8(bytes.count)] + bytes
        }

        static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] { [tag] + length(content.count) + content }
        static func sequence(_ items: [[UInt8]]) -> [UInt8] { tlv(0x30, items.flatMap { $0 }) }
        static func bitString(_ content: [UInt8]) -> [UInt8] { tlv(0x03, [0x00] + content) }

        /// A non-negative INTEGER from big-endian bytes (leading zeros dropped, a zero added when
        /// the high bit is set).
        static func integer(_ bytes: [UInt8]) -> [UInt8] {
            var b = Array(bytes.drop { $0 == 0 })
            if b.isEmpty { b = [0] }
            if b[0] & 0x80 != 0 { b.insert(0, at: 0) }
            return tlv(0x02, b)
        }
    }
}
