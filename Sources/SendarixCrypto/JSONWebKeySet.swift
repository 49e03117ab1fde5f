import Foundation

/// Public keys from a JWKS document (RFC 7517): `{"keys": [{"kty", "kid", "alg", ...}]}` with RSA
/// (`n`, `e`), EC P-256 (`crv`, `x`, `y`) and OKP Ed25519 (`crv`, `x`) keys. Keys of other types,
/// curves, or uses other than `sig` are skipped (and named in `skipped`). Immutable; any thread.
public struct JSONWebKeySet: Sendable {
    /// One usable key.
    public struct Entry: Sendable {
        /// `kid`, when the JWK has one.
        public var id: String?
        public var key: VerifyingKey
    }

    public private(set) var keys: [Entry] = []
    /// Why keys of the document were not loaded (for logs).
    public private(set) var skipped: [String] = []

    /// Parses a JWKS document. Throws `.invalidInput` when it is not JSON with a `keys` array.
    public init(json: [UInt8]) throws {
        guard let root = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any],
              let list = root["keys"] as? [[String: Any]] else {
            throw CryptoError(.invalidInput, "a JWKS document is a JSON object with a \"keys\" array", context: "JWKS")
        }
        for (i, jwk) in list.enumerated() {
            let id = jwk["kid"] as? String
            do {
                if let use = jwk["use"] as? String, use != "sig" { throw CryptoError(.invalidKey, "use is \(use), not sig") }
                let key = try Self.key(jwk)
                if let alg = jwk["alg"] as? String, alg != key.algorithm.rawValue {
                    throw CryptoError(.invalidKey, "alg \(alg) does not fit the key type")
                }
                keys.append(Entry(id: id, key: key))
            } catch {
                skipped.append("key \(id ?? "#\(i)"): \(error)")
            }
        }
    }

    /// An empty set.
    public init() {}

    static func key(_ jwk: [String: Any]) throws -> VerifyingKey {
        func field(_ name: String) throws -> [UInt8] {
            guard let s = jwk[name] as? String, let b = Base64URL.decode(s) else {
                throw CryptoError(.invalidKey, "missing or malformed \(name)")
            }
            return b
        }
        switch (jwk["kty"] as? String, jwk["crv"] as? String) {
        case ("RSA", _): return try VerifyingKey(rsaModulus: field("n"), exponent: field("e"))
        case ("EC", "P-256"): return try VerifyingKey(p256X: field("x"), y: field("y"))
        case ("OKP", "Ed25519"): return try VerifyingKey(ed25519: field("x"))
        case (let kty, let crv): throw CryptoError(.invalidKey, "unsupported key type \(kty ?? "none") \(crv ?? "")")
        }
    }

    /// The keys that may have signed a token with header `alg`/`kid`: the key with that `kid`
    /// (when given), else every key of that algorithm.
    public func candidates(algorithm: VerifyingKey.Algorithm, keyID: String?) -> [VerifyingKey] {
        keys.filter { $0.key.algorithm == algorithm && (keyID == nil || $0.id == keyID) }.map(\.key)
    }
}
