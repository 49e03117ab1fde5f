import Testing
@testable import SendarixCrypto

/// Secrets at rest: sealed values open only with the same key and context, and any change is caught.
@Suite("Secret box")
struct SecretBoxTests {
    @Test("seal/open round trip; another key, another context or a flipped bit fails authentication")
    func roundTrip() throws {
        let box = try SecretBox(key: Digest.randomBytes(32))
        let secret = Array("-----BEGIN PRIVATE KEY----- not really".utf8)
        let sealed = try box.seal(secret, context: "example.com/s1")
        #expect(sealed.count == secret.count + 29)
        #expect(try box.open(sealed, context: "example.com/s1") == secret)
        #expect(throws: CryptoError.self) { try box.open(sealed, context: "example.org/s1") }
        #expect(throws: CryptoError.self) { try SecretBox(key: Digest.randomBytes(32)).open(sealed, context: "example.com/s1") }
        for i in [1, 13, sealed.count - 1] {
            var bad = sealed
            bad[i] ^= 0x01
            #expect(throws: CryptoError.self) { try box.open(bad, context: "example.com/s1") }
        }
        // Two seals of the same secret differ (random nonce).
        #expect(try box.seal(secret, context: "c") != box.seal(secret, context: "c"))
    }

    @Test("keys derived from one secret for two purposes differ; the same purpose gives the same key")
    func derivation() throws {
        let secret = Digest.randomBytes(32)
        let a = try SecretBox(deriveFrom: secret, purpose: "dkim")
        let b = try SecretBox(deriveFrom: secret, purpose: "webhooks")
        let sealed = try a.seal([1, 2, 3], context: "x")
        #expect(try SecretBox(deriveFrom: secret, purpose: "dkim").open(sealed, context: "x") == [1, 2, 3])
        #expect(throws: CryptoError.self) { try b.open(sealed, context: "x") }
    }

    @Test("SHA-256 and HMAC-SHA256 match FIPS 180-2 and RFC 4231 test case 2")
    func digests() {
        // FIPS 180-2 Appendix B.1: SHA-256("abc").
        #expect(Digest.sha256(Array("abc".utf8)) == SigningKeyTests.hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
        // RFC 4231 §4.3, test case 2.
        #expect(Digest.hmacSHA256(key: Array("Jefe".utf8), Array("what do ya want for nothing?".utf8))
                == SigningKeyTests.hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))
    }
}
