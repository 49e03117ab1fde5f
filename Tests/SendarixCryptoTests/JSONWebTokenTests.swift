import Testing
@testable import SendarixCrypto

/// JWTs signed by python3-cryptography with an RS256, an ES256 and an EdDSA key (the vectors
/// below), checked against their JWKS: signatures, then issuer, audience, expiry and not-before
/// with clock skew.
@Suite("JWT verification")
struct JSONWebTokenTests {
    static let jwks = #"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "ec1", "x": "-pXz-GqwJp-Rit13ficNub2T8e_QjjwY3VPxGo_M2_w", "y": "HBZaGlQG8fHOtqZnQnZokHLh_CB2ql3i_JTYLpxB-H8"}, {"kty": "RSA", "kid": "rsa1", "alg": "RS256", "n": "knwJxe55UqVyqMA4DnV6oxyayB0fZKrO1PKyGPQ_tVoYFKn0g7ddQyuuZ-AKtOKwKpEt_kaiutdCvnWTdYDzjWj5Ay3CNiJVxUsb0zu4zlEDPe22cYVcxjQLH2k_rBTgnMMlFN7gpgW8bQQ2KL5Mh0DsOsHt1t5ybt5vfRksgQ8QcM8NOxUK82Vj5LdnaAlv99L6OKvi6SZ62lFnNUb2xlGZ4gTKw__ayAMXhRM4grKAxe22cHfi8qaYEvzHJJR4X7xbPFZkA74aso8Jzs8rT2I7mVI8teoBIzSKyamArADQH9JC_9hfbHk12BPSWC998NXeYMpFPq4QienYMlj7dQ", "e": "AQAB"}, {"kty": "OKP", "crv": "Ed25519", "kid": "ed1", "x": "m1-bHuzji8VdZkBr94uRvBu5goeOa2J-q4RJQKb94-g"}, {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]}"#
    /// Claims of each: iss https://idp.test, aud sendarix, sub app1, tenant acme, nbf 1700000000, exp 2000000000.
    static let es256 = "eyJhbGciOiAiRVMyNTYiLCAia2lkIjogImVjMSIsICJ0eXAiOiAiSldUIn0.eyJpc3MiOiAiaHR0cHM6Ly9pZHAudGVzdCIsICJhdWQiOiAic2VuZGFyaXgiLCAic3ViIjogImFwcDEiLCAidGVuYW50IjogImFjbWUiLCAiZXhwIjogMjAwMDAwMDAwMCwgIm5iZiI6IDE3MDAwMDAwMDB9.m8dV2J6O4GBLwNWNJxSAwRo-P6OZa4ECj_DD0HHNwA-ZbLEN--uvGqkkw5pw53q9Bb5OBnwUi96BbHJIT1k2qQ"
    static let rs256 = "eyJhbGciOiAiUlMyNTYiLCAia2lkIjogInJzYTEiLCAidHlwIjogIkpXVCJ9.eyJpc3MiOiAiaHR0cHM6Ly9pZHAudGVzdCIsICJhdWQiOiAic2VuZGFyaXgiLCAic3ViIjogImFwcDEiLCAidGVuYW50IjogImFjbWUiLCAiZXhwIjogMjAwMDAwMDAwMCwgIm5iZiI6IDE3MDAwMDAwMDB9.iGKJuWuUMaisErUvkwuHuhJirtZsZ719kkrNpTkdo2QZS_CQdQVEY_PjMZHXLRjT_Rb4eNcx7E6xrDvVj33upS4NWW2uC3__3T8yazEPs-4WktgU2vskosMVtTqlT8C3ug3M8LVzS-9vXodjKsJLimcADxs_GVp5LX3TRX960XkcOXfnxmu5x-VjBE93u6c2bbqncEIzo11Q80mt8FYwxI9goRTvmLDJEbRd0zuk4A-EDm-MwpQZFsNmJiPNAf2p6jV6M0ZlnJUnt-Iiaw8iuGVk3bXUQVhHm3nvV3MGwpNLUzjjnRgf_OHIszQAkEoENhcuEBZVTlgAEHQmw2morg"
    static let edDSA = "eyJhbGciOiAiRWREU0EiLCAia2lkIjogImVkMSIsICJ0eXAiOiAiSldUIn0.eyJpc3MiOiAiaHR0cHM6Ly9pZHAudGVzdCIsICJhdWQiOiAic2VuZGFyaXgiLCAic3ViIjogImFwcDEiLCAidGVuYW50IjogImFjbWUiLCAiZXhwIjogMjAwMDAwMDAwMCwgIm5iZiI6IDE3MDAwMDAwMDB9._T_snaLwGYnqlN7-PcJeVAPUNu5qRekabYwD7prjf8B0AwI1GpBcMBkMDxX-lDfR-Rg8LvuMJnRfydZN5q8SAA"
    static let policy = JSONWebToken.Policy(issuer: "https://idp.test", audience: "sendarix", clockSkewSeconds: 60)
    static let now: Int64 = 1_800_000_000

    static func keys() throws -> JSONWebKeySet { try JSONWebKeySet(json: Array(jwks.utf8)) }

    @Test("RS256, ES256 and EdDSA tokens verify against the JWKS and yield their claims; the HMAC key is skipped")
    func valid() throws {
        let keys = try Self.keys()
        #expect(keys.keys.count == 3 && keys.skipped.count == 1)
        for token in [Self.rs256, Self.es256, Self.edDSA] {
            let claims = try JSONWebToken.verify(token, keys: keys, policy: Self.policy, now: Self.now).get()
            #expect(claims.subject == "app1" && claims.strings["tenant"] == "acme" && claims.audiences == ["sendarix"])
        }
    }

    @Test("a flipped signature byte, a changed payload or a key of the wrong type is a bad signature")
    func badSignature() throws {
        let keys = try Self.keys()
        for token in [Self.rs256, Self.es256, Self.edDSA] {
            var parts = token.split(separator: ".").map(String.init)
            var sig = try #require(Base64URL.decode(parts[2]))
            sig[5] ^= 0x01
            parts[2] = Base64URL.encode(sig)
            #expect(JSONWebToken.verify(parts.joined(separator: "."), keys: keys, policy: Self.policy, now: Self.now) == .failure(.badSignature))
            let forged = Base64URL.encode(Array(#"{"iss":"https://idp.test","aud":"sendarix","sub":"app1","tenant":"evil","exp":2000000000}"#.utf8))
            let changed = [token.split(separator: ".")[0], Substring(forged), token.split(separator: ".")[2]].joined(separator: ".")
            #expect(JSONWebToken.verify(changed, keys: keys, policy: Self.policy, now: Self.now) == .failure(.badSignature))
        }
        // A header naming alg none or HS256 is never accepted.
        let none = Base64URL.encode(Array(#"{"alg":"none"}"#.utf8)) + "." + Self.rs256.split(separator: ".")[1] + "."
        #expect(JSONWebToken.verify(none, keys: keys, policy: Self.policy, now: Self.now) == .failure(.unsupportedAlgorithm("none")))
        let hs = Base64URL.encode(Array(#"{"alg":"HS256","kid":"hmac"}"#.utf8)) + "." + Self.rs256.split(separator: ".")[1] + ".AAAA"
        #expect(JSONWebToken.verify(hs, keys: keys, policy: Self.policy, now: Self.now) == .failure(.unsupportedAlgorithm("HS256")))
        // An ES256 header with the RSA key's kid finds no key.
        let confused = Base64URL.encode(Array(#"{"alg":"ES256","kid":"rsa1"}"#.utf8)) + "." + Self.es256.split(separator: ".")[1] + "." + Self.es256.split(separator: ".")[2]
        #expect(JSONWebToken.verify(confused, keys: keys, policy: Self.policy, now: Self.now) == .failure(.unknownKey))
    }

    @Test("expiry and not-before honour the clock skew; issuer and audience must match")
    func claims() throws {
        let keys = try Self.keys()
        func check(now: Int64, _ policy: JSONWebToken.Policy = Self.policy) -> Result<JSONWebToken.Claims, JSONWebToken.Failure> {
            JSONWebToken.verify(Self.edDSA, keys: keys, policy: policy, now: now)
        }
        #expect((try? check(now: 2_000_000_059).get()) != nil)
        #expect(check(now: 2_000_000_060) == .failure(.expired))
        #expect((try? check(now: 1_699_999_940).get()) != nil)
        #expect(check(now: 1_699_999_939) == .failure(.notYetValid))
        #expect(check(now: Self.now, .init(issuer: "https://other.test", audience: "sendarix")) == .failure(.wrongIssuer))
        #expect(check(now: Self.now, .init(issuer: "https://idp.test", audience: "smtp")) == .failure(.wrongAudience))
        #expect(check(now: Self.now, .init()) != .failure(.wrongAudience))
    }
}
