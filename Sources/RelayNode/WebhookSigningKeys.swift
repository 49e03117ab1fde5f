import Registry
import SendarixCrypto

/// The signing keys of the endpoints' secrets, made once per secret instead of once per POST
/// (decoding the secret and setting up its HMAC cost more than signing a body). Kept per endpoint
/// with the secrets they were made from: an endpoint whose secrets changed (rotated or replaced
/// through the admin API) gets new keys, never a stale one. Not thread-safe: the dispatcher thread.
struct WebhookSigningKeys {
    private struct Entry {
        /// Every secret of the endpoint when the keys were made, in its order.
        var secrets: [String]
        /// Key by secret; nil for a secret that is not base64 (it signs nothing).
        var keys: [String: HMACSHA256Key?]
    }

    private var byEndpoint: [String: Entry] = [:]

    /// The keys of `endpoint`'s secrets that sign a call sent at `now`, in the order of
    /// `signingSecrets(at:)`, leaving out secrets that are not base64 (as `WebhookSigner.header`).
    mutating func keys(_ endpoint: WebhookEndpoint, at now: Int64) -> [HMACSHA256Key] {
        let all = endpoint.secrets.map(\.value)
        var entry = byEndpoint.removeValue(forKey: endpoint.id) ?? Entry(secrets: all, keys: [:])
        if entry.secrets != all { entry = Entry(secrets: all, keys: [:]) }
        defer { byEndpoint[endpoint.id] = entry }
        return endpoint.signingSecrets(at: now).compactMap { secret in
            if let made = entry.keys[secret] { return made }
            let made = WebhookSigner.key(secret).map { HMACSHA256Key(key: $0) }
            entry.keys[secret] = made
            return made
        }
    }

    /// Drops the keys of endpoints not in `ids` (deleted).
    mutating func keep(only ids: Set<String>) {
        guard byEndpoint.keys.contains(where: { !ids.contains($0) }) else { return }
        byEndpoint = byEndpoint.filter { ids.contains($0.key) }
    }

    /// Endpoints with keys (for tests).
    var count: Int { byEndpoint.count }
}
