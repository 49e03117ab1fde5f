import Foundation
import Testing
@testable import RelayConfig

/// The `oauth` section: decoded with its defaults, a relative JWKS path anchored at the config's
/// directory, and checked by check-config.
@Suite("RelayConfig oauth section")
struct OAuthConfigTests {
    @Test("oauth keys decode with defaults; the section is off without jwksFile")
    func decode() throws {
        #expect(!RelayConfig().oauth.enabled)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-oauthcfg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #"{"keys": []}"#.write(toFile: dir + "/jwks.json", atomically: true, encoding: .utf8)
        let c = try parseConfig(#"{"oauth": {"jwksFile": "jwks.json", "audience": "sendarix", "clockSkewSeconds": 5}}"#, base: dir)
        #expect(c.oauth.enabled && c.oauth.jwksFile == dir + "/jwks.json" && c.oauth.audience == "sendarix")
        #expect(c.oauth.clockSkewSeconds == 5 && c.oauth.tenantClaim == "tenant" && c.oauth.credentialClaim == "credential")
        #expect(c.oauth.issuer == nil)
    }

    @Test("a missing JWKS file, a skew out of range and unknown keys are problems")
    func problemsReported() {
        #expect(problems(#"{"oauth": {"jwksFile": "/nonexistent/jwks.json"}}"#)
                == ["oauth.jwksFile: '/nonexistent/jwks.json' is not a readable file"])
        #expect(problems(#"{"oauth": {"clockSkewSeconds": 7200}}"#).first?.hasPrefix("oauth.clockSkewSeconds") == true)
        #expect(problems(#"{"oauth": {"jwks": "x"}}"#).first?.hasPrefix("oauth.jwks: unknown key") == true)
    }
}
