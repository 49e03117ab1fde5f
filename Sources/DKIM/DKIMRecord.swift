import SendarixCrypto
import SendarixSupport

/// The DNS TXT record that publishes a DKIM public key (RFC 6376 §3.6.1): what to publish, and
/// what a looked-up record says. Pure; any thread.
public struct DKIMRecord: Sendable, Equatable {
    /// `k=`: `rsa` or `ed25519`.
    public var keyType: SigningKey.Algorithm
    /// `p=`: the public key bytes (empty: the key was revoked).
    public var publicKey: [UInt8]

    /// Creates a record value. Any thread.
    public init(keyType: SigningKey.Algorithm, publicKey: [UInt8]) {
        self.keyType = keyType
        self.publicKey = publicKey
    }

    /// The TXT text to publish: `v=DKIM1; k=…; p=…`.
    public var text: String {
        "v=DKIM1; k=\(keyType.rawValue); p=" + String(decoding: Base64Codec.encode(publicKey), as: UTF8.self)
    }

    /// The owner name of the record for `selector` at `domain`: `selector._domainkey.domain`.
    public static func name(selector: String, domain: String) -> String { "\(selector)._domainkey.\(domain)" }

    /// Parses a looked-up TXT record (its strings already joined). nil when it is not a DKIM key
    /// record: wrong `v=`, unknown `k=`, or a `p=` that is not base64.
    public init?(parsing text: String) {
        var tags: [String: String] = [:]
        for part in text.split(separator: ";") {
            guard let eq = part.firstIndex(of: "=") else { continue }
            let name = part[..<eq].filter { !$0.isWhitespace }.lowercased()
            let value = part[part.index(after: eq)...].filter { !$0.isWhitespace }
            if tags[name] == nil { tags[name] = String(value) }
        }
        if let v = tags["v"], v != "DKIM1" { return nil }
        guard let k = SigningKey.Algorithm(rawValue: (tags["k"] ?? "rsa").lowercased()), let p = tags["p"] else { return nil }
        if p.isEmpty {
            self.init(keyType: k, publicKey: [])
            return
        }
        guard let bytes = Base64Codec.decodeStrict(Array(p.utf8)) else { return nil }
        self.init(keyType: k, publicKey: bytes)
    }
}
