import COpenSSL

/// Authenticated encryption of secrets at rest (DKIM private keys in the replicated registry):
/// AES-256-GCM with a random 96-bit nonce per seal. Sealed bytes are `v1 (1) | nonce (12) |
/// ciphertext | tag (16)`. `@unchecked Sendable` not needed: the key is a value. Any thread;
/// never blocks.
public struct SecretBox: Sendable {
    static let version: UInt8 = 1
    let key: [UInt8]

    /// A box for `key` (32 bytes).
    public init(key: [UInt8]) throws {
        guard key.count == 32 else { throw CryptoError(.invalidKey, "an AES-256 key is 32 bytes, got \(key.count)", context: "secret box") }
        self.key = key
    }

    /// A box whose key is derived from `secret` (any length, e.g. the cluster secret) for `purpose`:
    /// HMAC-SHA256(secret, "sendarix/" + purpose), so one secret gives independent keys.
    public init(deriveFrom secret: [UInt8], purpose: String) throws {
        guard secret.count >= 16 else { throw CryptoError(.invalidKey, "a secret to derive keys from needs 16 bytes or more", context: "secret box") }
        try self.init(key: Digest.hmacSHA256(key: secret, Array("sendarix/\(purpose)".utf8)))
    }

    /// Encrypts `plaintext`; `context` (e.g. the record's name) is authenticated with it, so a
    /// sealed value cannot be moved to another record.
    public func seal(_ plaintext: [UInt8], context: String) throws -> [UInt8] {
        let nonce = Digest.randomBytes(12)
        let (ciphertext, tag) = try crypt(encrypt: true, nonce: nonce, input: plaintext, aad: Array(context.utf8), tag: nil)
        return [Self.version] + nonce + ciphertext + tag
    }

    /// Decrypts what `seal` produced for the same `context`; throws `.authenticationFailed` when the
    /// bytes were altered, sealed for another context, or under another key.
    public func open(_ sealed: [UInt8], context: String) throws -> [UInt8] {
        guard sealed.count >= 1 + 12 + 16, sealed[0] == Self.version else {
            throw CryptoError(.invalidInput, "not a sealed secret (version \(sealed.first.map(String.init) ?? "none"))", context: context)
        }
        let nonce = Array(sealed[1..<13])
        let body = Array(sealed[13..<(sealed.count - 16)])
        let tag = Array(sealed[(sealed.count - 16)...])
        return try crypt(encrypt: false, nonce: nonce, input: body, aad: Array(context.utf8), tag: tag).0
    }

    private func crypt(encrypt: Bool, nonce: [UInt8], input: [UInt8], aad: [UInt8], tag: [UInt8]?) throws -> ([UInt8], [UInt8]) {
        ERR_clear_error()
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSL(.operationFailed, "EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        let e: Int32 = encrypt ? 1 : 0
        guard EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil, e) == 1,
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, nil) == 1,
              key.withUnsafeBufferPointer({ k in nonce.withUnsafeBufferPointer { n in
                  EVP_CipherInit_ex(ctx, nil, nil, k.baseAddress, n.baseAddress, e) } }) == 1 else {
            throw CryptoError.openSSL(.operationFailed, "AES-GCM init")
        }
        var outLen: Int32 = 0
        if !aad.isEmpty {
            guard aad.withUnsafeBufferPointer({ EVP_CipherUpdate(ctx, nil, &outLen, $0.baseAddress, Int32($0.count)) }) == 1 else {
                throw CryptoError.openSSL(.operationFailed, "AES-GCM aad")
            }
        }
        var output = [UInt8](repeating: 0, count: input.count + 16)
        var written = 0
        if !input.isEmpty {
            guard input.withUnsafeBufferPointer({ i in output.withUnsafeMutableBufferPointer { o in
                EVP_CipherUpdate(ctx, o.baseAddress, &outLen, i.baseAddress, Int32(i.count)) } }) == 1 else {
                throw CryptoError.openSSL(.operationFailed, "AES-GCM update")
            }
            written = Int(outLen)
        }
        if var tag, !encrypt {
            guard tag.withUnsafeMutableBufferPointer({ EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, $0.baseAddress) }) == 1 else {
                throw CryptoError.openSSL(.operationFailed, "AES-GCM tag")
            }
        }
        let final = output.withUnsafeMutableBufferPointer { o in EVP_CipherFinal_ex(ctx, o.baseAddress! + written, &outLen) }
        guard final == 1 else {
            ERR_clear_error()
            throw CryptoError(.authenticationFailed, "sealed secret altered, or sealed with another key or context")
        }
        written += Int(outLen)
        var outTag = [UInt8](repeating: 0, count: 16)
        if encrypt {
            guard outTag.withUnsafeMutableBufferPointer({ EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, $0.baseAddress) }) == 1 else {
                throw CryptoError.openSSL(.operationFailed, "AES-GCM get tag")
            }
        }
        return (Array(output.prefix(written)), outTag)
    }
}
