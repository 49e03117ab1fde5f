import Foundation
import Registry
import SendarixCrypto
import SendarixSupport
import Testing
@testable import RelayNode

/// The dispatcher's signing keys, made once per secret, sign exactly as the one-shot HMAC of the
/// endpoint's current secrets, through rotations and replacements of those secrets.
@Suite("Webhook signing keys")
struct WebhookSigningKeysTests {
    static func secret(_ fill: UInt8, count: Int = 32) -> String {
        "whsec_" + Data(repeating: fill, count: count).base64EncodedString()
    }

    /// The header as the one-shot `Digest` HMAC gives it (the oracle).
    static func expected(_ secrets: [String], id: String, timestamp: Int64, body: [UInt8]) -> String {
        secrets.compactMap { s -> String? in
            guard let key = WebhookSigner.key(s) else { return nil }
            let code = Digest.hmacSHA256(key: key, Array("\(id).\(timestamp).".utf8) + body)
            return "v1," + String(decoding: Base64Codec.encode(code), as: UTF8.self)
        }.joined(separator: " ")
    }

    @Test("the signature header equals the one-shot HMAC's; a rotated, replaced or expired secret is never signed with")
    func rotation() {
        var cache = WebhookSigningKeys()
        var e = WebhookEndpoint(id: "ep_1", tenant: "t", url: "http://x/", secret: Self.secret(1), createdAt: 0)
        let body = Array("{\"type\":\"accepted\",\"sequence\":1}".utf8)
        func header(at now: Int64) -> String {
            WebhookSigner.header(keys: cache.keys(e, at: now), id: "msg_1", timestamp: now / 1000, body: body)
        }
        func oracle(at now: Int64) -> String {
            Self.expected(e.signingSecrets(at: now), id: "msg_1", timestamp: now / 1000, body: body)
        }
        let first = header(at: 1_000)
        #expect(first == oracle(at: 1_000) && !first.contains(" "))
        #expect(header(at: 2_000) == oracle(at: 2_000))  // from the cache

        // Rotation: the new secret first, the old one beside it until its grace ends.
        e.secrets = [.init(value: Self.secret(2))] + [.init(value: Self.secret(1), expiresAt: 10_000)]
        let rotated = header(at: 3_000)
        #expect(rotated == oracle(at: 3_000) && rotated.split(separator: " ").count == 2)
        #expect(rotated.hasPrefix(Self.expected([Self.secret(2)], id: "msg_1", timestamp: 3, body: body) + " "))
        #expect(header(at: 20_000) == Self.expected([Self.secret(2)], id: "msg_1", timestamp: 20, body: body))

        // Replaced outright (same length, same endpoint): the old key must not sign.
        e.secrets = [.init(value: Self.secret(3))]
        let replaced = header(at: 30_000)
        #expect(replaced == oracle(at: 30_000))
        #expect(replaced != Self.expected([Self.secret(2)], id: "msg_1", timestamp: 30, body: body))

        // A secret that is not base64 signs nothing, as in `WebhookSigner.header(secrets:…)`.
        e.secrets = [.init(value: "whsec_!!"), .init(value: Self.secret(4, count: 64), expiresAt: 100_000)]
        #expect(header(at: 40_000) == oracle(at: 40_000))
        #expect(header(at: 40_000) == WebhookSigner.header(secrets: e.signingSecrets(at: 40_000), id: "msg_1",
                                                            timestamp: 40, body: body))

        // Two endpoints with the same secret, and endpoints dropped when deleted.
        var other = e
        other.id = "ep_2"
        #expect(cache.keys(other, at: 40_000).count == 1 && cache.count == 2)
        cache.keep(only: ["ep_2"])
        #expect(cache.count == 1)
    }
}
