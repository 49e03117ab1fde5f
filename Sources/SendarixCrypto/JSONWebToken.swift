import Foundation

/// A JWT (RFC 7519) in JWS compact form, checked locally: the signature against a JWKS (RS256,
/// ES256, EdDSA; `none` and HMAC are refused), then `iss`, `aud`, `exp` and `nbf` with a clock-skew
/// allowance. Pure: the time comes from the caller. Any thread.
public enum JSONWebToken {
    /// What a token must satisfy.
    public struct Policy: Sendable, Equatable {
        /// Required `iss`; nil: any.
        public var issuer: String?
        /// Required member of `aud` (a string or an array); nil: any.
        public var audience: String?
        /// Seconds `exp` and `nbf` may be off by.
        public var clockSkewSeconds: Int64
        /// Creates a policy. Any thread.
        public init(issuer: String? = nil, audience: String? = nil, clockSkewSeconds: Int64 = 60) {
            self.issuer = issuer
            self.audience = audience
            self.clockSkewSeconds = clockSkewSeconds
        }
    }

    /// Why a token was refused (short reasons for logs; clients learn only `invalid_token`).
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed(String)
        case unsupportedAlgorithm(String)
        case unknownKey
        case badSignature
        case expired
        case notYetValid
        case wrongIssuer
        case wrongAudience

        public var description: String {
            switch self {
            case .malformed(let why): "malformed token: \(why)"
            case .unsupportedAlgorithm(let alg): "unsupported algorithm \(alg)"
            case .unknownKey: "no key of the JWKS fits the token"
            case .badSignature: "bad signature"
            case .expired: "token expired"
            case .notYetValid: "token not yet valid"
            case .wrongIssuer: "wrong issuer"
            case .wrongAudience: "wrong audience"
            }
        }
    }

    /// The claims of a verified token: the registered ones, and every string claim by name.
    public struct Claims: Sendable, Equatable {
        public var issuer: String?
        public var subject: String?
        public var audiences: [String]
        public var expiresAt: Int64?
        public var notBefore: Int64?
        /// Every claim whose value is a string.
        public var strings: [String: String]
    }

    /// Verifies `token` at `now` (seconds since the epoch) and returns its claims.
    public static func verify(_ token: String, keys: JSONWebKeySet, policy: Policy, now: Int64) -> Result<Claims, Failure> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .failure(.malformed("not three dot-separated parts")) }
        guard let headerBytes = Base64URL.decode(parts[0]),
              let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any] else {
            return .failure(.malformed("header is not base64url JSON"))
        }
        guard let alg = header["alg"] as? String else { return .failure(.malformed("no alg")) }
        guard let algorithm = VerifyingKey.Algorithm(rawValue: alg) else { return .failure(.unsupportedAlgorithm(alg)) }
        guard let signature = Base64URL.decode(parts[2]) else { return .failure(.malformed("signature is not base64url")) }
        let candidates = keys.candidates(algorithm: algorithm, keyID: header["kid"] as? String)
        guard !candidates.isEmpty else { return .failure(.unknownKey) }
        let signed = Array(parts[0].utf8) + [0x2E] + Array(parts[1].utf8)
        guard candidates.contains(where: { $0.verify(signature: signature, data: signed) }) else {
            return .failure(.badSignature)
        }
        guard let payload = Base64URL.decode(parts[1]),
              let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any] else {
            return .failure(.malformed("payload is not base64url JSON"))
        }
        let claims = Claims(
            issuer: object["iss"] as? String, subject: object["sub"] as? String,
            audiences: (object["aud"] as? String).map { [$0] } ?? (object["aud"] as? [String]) ?? [],
            expiresAt: number(object["exp"]), notBefore: number(object["nbf"]),
            strings: object.compactMapValues { $0 as? String })
        if let exp = claims.expiresAt, now >= exp + policy.clockSkewSeconds { return .failure(.expired) }
        if claims.expiresAt == nil, object["exp"] != nil { return .failure(.malformed("exp is not a number")) }
        if let nbf = claims.notBefore, now + policy.clockSkewSeconds < nbf { return .failure(.notYetValid) }
        if let issuer = policy.issuer, claims.issuer != issuer { return .failure(.wrongIssuer) }
        if let audience = policy.audience, !claims.audiences.contains(audience) { return .failure(.wrongAudience) }
        return .success(claims)
    }

    /// A NumericDate (integer or fractional seconds), truncated.
    static func number(_ value: Any?) -> Int64? {
        (value as? NSNumber)?.int64Value
    }
}
