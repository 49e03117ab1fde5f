import Foundation
import Testing
@testable import SMTPCore

/// OAUTHBEARER (RFC 7628) and XOAUTH2: client messages parsed, refused tokens answered with the
/// base64 JSON error challenge, then 535 5.7.8 whatever the client sends.
@Suite("Bearer-token SASL")
struct BearerAuthTests {
    static let config = SMTPSession.Configuration(hostname: "mx.test", portKind: .smtps,
                                                  authMechanisms: ["PLAIN", "XOAUTH2", "OAUTHBEARER"])

    @Test("OAUTHBEARER messages: authzid with escapes, token found among other pairs, malformed ones refused")
    func parseOAuthBearer() {
        let m = SASLBearer.parseOAuthBearer(Array("n,a=us=2Cer@x.test,\u{1}host=mx\u{1}port=587\u{1}auth=Bearer abc.def.ghi\u{1}\u{1}".utf8))
        #expect(m == .init(user: "us,er@x.test", token: "abc.def.ghi"))
        #expect(SASLBearer.parseOAuthBearer(Array("n,,\u{1}auth=Bearer t\u{1}\u{1}".utf8)) == .init(user: "", token: "t"))
        #expect(SASLBearer.parseOAuthBearer(Array("p=tls-unique,,\u{1}auth=Bearer t\u{1}\u{1}".utf8)) == nil)
        #expect(SASLBearer.parseOAuthBearer(Array("n,,\u{1}auth=Bearer t\u{1}".utf8)) == nil)
        #expect(SASLBearer.parseOAuthBearer(Array("n,,\u{1}host=mx\u{1}\u{1}".utf8)) == nil)
        #expect(SASLBearer.parseXOAuth2(Array("user=a@b\u{1}auth=Bearer tok\u{1}\u{1}".utf8)) == .init(user: "a@b", token: "tok"))
        #expect(SASLBearer.parseXOAuth2(Array("auth=Bearer tok\u{1}\u{1}".utf8)) == nil)
    }

    @Test("the error challenge is base64 JSON naming invalid_token, the bearer scheme and the scope")
    func challenge() throws {
        let decoded = try #require(SMTPBase64.decode(Array(SASLBearer.errorChallenge(scope: "smtp").utf8)))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(decoded)) as? [String: String])
        #expect(json == ["status": "invalid_token", "schemes": "bearer", "scope": "smtp"])
    }

    @Test("OAUTHBEARER is offered after TLS; a valid token authenticates with the token as the password")
    func success() {
        var h = Harness.tls(Self.config)
        #expect(h.input("EHLO c\r\n").contains("250-AUTH PLAIN XOAUTH2 OAUTHBEARER\r\n"))
        let message = SMTPBase64.encode(Array("n,a=app,\u{1}auth=Bearer tok\u{1}\u{1}".utf8))
        h.input("AUTH OAUTHBEARER \(message)\r\n")
        #expect(h.authRequests == [.init(mechanism: "OAUTHBEARER", username: "app", password: "tok")])
        #expect(h.completeAuth(.success(user: "app", tenant: "acme")) == "235 2.7.0 Authentication successful\r\n")
        var plain = Harness(Self.config)
        #expect(!plain.input("EHLO c\r\n").contains("AUTH"))
    }

    @Test("a refused token gets the 334 error challenge; AQ== (OAUTHBEARER) or an empty line (XOAUTH2) then 535 5.7.8")
    func failure() {
        var h = Harness.tls(Self.config)
        h.input("EHLO c\r\nAUTH OAUTHBEARER \(SMTPBase64.encode(Array("n,,\u{1}auth=Bearer bad\u{1}\u{1}".utf8)))\r\n")
        #expect(h.completeAuth(.failure) == "334 \(SASLBearer.errorChallenge())\r\n")
        #expect(h.input("AQ==\r\n") == "535 5.7.8 Authentication credentials invalid\r\n")
        #expect(h.input("NOOP\r\n") == "250 2.0.0 OK\r\n")
        var x = Harness.tls(Self.config)
        x.input("EHLO c\r\nAUTH XOAUTH2 \(SMTPBase64.encode(Array("user=u\u{1}auth=Bearer bad\u{1}\u{1}".utf8)))\r\n")
        #expect(x.completeAuth(.refused(reason: "Credential suspended: leaked")).hasPrefix("334 "))
        #expect(x.input("\r\n") == "535 5.7.8 Credential suspended: leaked\r\n")
        // A password mechanism gets the reason at once.
        var p = Harness.tls(Self.config)
        p.input("EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")
        #expect(p.completeAuth(.refused(reason: "Credential suspended: leaked")) == "535 5.7.8 Credential suspended: leaked\r\n")
    }
}
