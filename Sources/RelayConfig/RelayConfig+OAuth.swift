import Foundation

extension RelayConfig {
    /// `oauth`: bearer-token logins (AUTH XOAUTH2 and OAUTHBEARER, offered after TLS) with JWTs
    /// verified locally against a JWKS file. Off while `jwksFile` is nil.
    public struct OAuth: Sendable, Codable, Equatable {
        /// JWKS document with the token signers' public keys (RS256, ES256, EdDSA); re-read when
        /// the file changes (checked at most once a second).
        public var jwksFile: String? = nil
        /// Required `iss`; nil: any issuer.
        public var issuer: String? = nil
        /// Required member of `aud`; nil: any audience.
        public var audience: String? = nil
        /// Seconds of clock difference allowed on `exp` and `nbf`.
        public var clockSkewSeconds = 60
        /// The claim naming the tenant.
        public var tenantClaim = "tenant"
        /// The claim naming the credential (an API-managed credential of that tenant, which must be
        /// active); when the token lacks it, the login is the tenant's, named after `sub`.
        public var credentialClaim = "credential"
        /// `scope` sent in the error challenge; nil: none.
        public var scope: String? = nil

        /// Creates the defaults.
        public init() {}

        /// True when bearer-token logins are configured.
        public var enabled: Bool { jwksFile != nil }
    }

    static func decodeOAuth(_ o: inout ConfigReader, into a: inout OAuth) {
        a.jwksFile = o.string("jwksFile")
        a.issuer = o.string("issuer")
        a.audience = o.string("audience")
        a.clockSkewSeconds = o.int("clockSkewSeconds", default: a.clockSkewSeconds)
        a.tenantClaim = o.string("tenantClaim", default: a.tenantClaim)
        a.credentialClaim = o.string("credentialClaim", default: a.credentialClaim)
        a.scope = o.string("scope")
        o.finish()
    }
}

extension RelayConfig {
    func validateOAuth(_ p: ConfigProblems) {
        RelayConfig.checkRange(oauth.clockSkewSeconds, 0...3_600, "oauth.clockSkewSeconds", p)
        if let file = oauth.jwksFile, !FileManager.default.isReadableFile(atPath: file) {
            p.error("oauth.jwksFile", "'\(file)' is not a readable file")
        }
        if oauth.tenantClaim.isEmpty { p.error("oauth.tenantClaim", "must name a claim") }
        if oauth.credentialClaim.isEmpty { p.error("oauth.credentialClaim", "must name a claim") }
    }
}
