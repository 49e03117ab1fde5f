import Foundation
import SendarixCrypto
import SendarixSupport

/// Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the
/// base64-decoded part of a `whsec_` secret; several space-separated signatures while a rotated
/// secret is in its grace period. Pure; any thread.
enum WebhookSigner {
    /// A new secret: `whsec_` + base64 of 32 random bytes.
    static func newSecret() -> String {
        "whsec_" + String(decoding: Base64Codec.encode(Digest.randomBytes(32)), as: UTF8.self)
    }

    /// The key bytes of a `whsec_` secret (nil when not base64).
    static func key(_ secret: String) -> [UInt8]? {
        let text = secret.hasPrefix("whsec_") ? secret.dropFirst(6) : Substring(secret)
        return Base64Codec.decodeStrict(Array(text.utf8))
    }

    /// One `v1,` signature of `body` for message `id` sent at `timestamp` (seconds).
    static func signature(secret: String, id: String, timestamp: Int64, body: [UInt8]) -> String? {
        guard let key = key(secret) else { return nil }
        return signature(key: HMACSHA256Key(key: key), id: id, timestamp: timestamp, body: body)
    }

    /// One `v1,` signature under a key made from a secret (`key(_:)`) once: `"id.timestamp."` and
    /// `body` are hashed in turn, not joined.
    static func signature(key: HMACSHA256Key, id: String, timestamp: Int64, body: [UInt8]) -> String {
        let code = key.authenticationCode("\(id).\(timestamp).".utf8, body)
        return "v1," + String(decoding: Base64Codec.encode(code), as: UTF8.self)
    }

    /// The `webhook-signature` header value: one signature per secret, space-separated.
    static func header(secrets: [String], id: String, timestamp: Int64, body: [UInt8]) -> String {
        secrets.compactMap { signature(secret: $0, id: id, timestamp: timestamp, body: body) }.joined(separator: " ")
    }

    /// `header(secrets:…)` with keys made once per secret (`WebhookSigningKeys`).
    static func header(keys: [HMACSHA256Key], id: String, timestamp: Int64, body: [UInt8]) -> String {
        keys.map { signature(key: $0, id: id, timestamp: timestamp, body: body) }.joined(separator: " ")
    }
}
