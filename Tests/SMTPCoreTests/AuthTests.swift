import Testing
@testable import SMTPCore

@Suite("AUTH (RFC 4954): PLAIN, LOGIN, policy")
struct AuthTests {
    @Test("AUTH before TLS gets 538 5.7.11 and no credentials reach the shell")
    func requiresTLS() {
        var harness = Harness()
        harness.input("EHLO c\r\n")
        #expect(harness.input("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")
            == "538 5.7.11 Encryption required for requested authentication mechanism\r\n")
        #expect(harness.authRequests.isEmpty)
    }

    @Test("PLAIN with an initial response asks the shell, then 235 on success")
    func plainInitial() {
        var harness = Harness.tls()
        harness.input("EHLO c\r\n")
        #expect(harness.input("AUTH plain YWRtaW4AYWxpY2UAc2VjcmV0\r\n") == "")
        #expect(harness.authRequests == [.init(mechanism: "PLAIN", username: "alice", password: "secret",
                                               authorizationIdentity: "admin")])
        #expect(harness.completeAuth(.success(user: "alice", tenant: "acme")) == "235 2.7.0 Authentication successful\r\n")
        #expect(harness.logs.contains(.authSucceeded(user: "alice", tenant: "acme", mechanism: "PLAIN")))
        #expect(harness.input("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n") == "503 5.5.1 Error: already authenticated\r\n")
    }

    @Test("PLAIN without an initial response gets an empty 334 challenge")
    func plainChallenge() {
        var harness = Harness.tls()
        harness.input("EHLO c\r\n")
        #expect(harness.input("AUTH PLAIN\r\n") == "334 \r\n")
        harness.input("AGFsaWNlAHNlY3JldA==\r\n")
        #expect(harness.authRequests.map(\.username) == ["alice"])
        #expect(harness.authRequests.first?.authorizationIdentity == nil)
    }

    @Test("LOGIN prompts for user name and password")
    func login() {
        var harness = Harness.tls()
        harness.input("EHLO c\r\n")
        #expect(harness.input("AUTH LOGIN\r\n") == "334 VXNlcm5hbWU6\r\n")
        #expect(harness.input("YWxpY2U=\r\n") == "334 UGFzc3dvcmQ6\r\n")
        harness.input("c2VjcmV0\r\n")
        #expect(harness.authRequests == [.init(mechanism: "LOGIN", username: "alice", password: "secret")])
    }

    @Test("LOGIN with the user name as initial response prompts only for the password")
    func loginInitial() {
        var harness = Harness.tls()
        harness.input("EHLO c\r\n")
        #expect(harness.input("AUTH LOGIN YWxpY2U=\r\n") == "334 UGFzc3dvcmQ6\r\n")
        harness.input("c2VjcmV0\r\n")
        #expect(harness.authRequests.map(\.password) == ["secret"])
    }

    @Test("* cancels the exchange with 501 5.0.0; undecodable responses get 501 5.5.2")
    func cancelAndGarbage() {
        var harness = Harness.tls()
        harness.input("EHLO c\r\n")
        harness.input("AUTH LOGIN\r\n")
        #expect(harness.input("*\r\n") == "501 5.0.0 Authentication cancelled\r\n")
        harness.input("AUTH PLAIN\r\n")
        #expect(harness.input("not base64!\r\n") == "501 5.5.2 Cannot decode base64 response\r\n")
        #expect(harness.input("AUTH PLAIN YWxpY2U=\r\n") == "501 5.5.2 Invalid PLAIN authentication data\r\n")
        #expect(harness.input("NOOP\r\n") == "250 2.0.0 OK\r\n")
        #expect(harness.authRequests.isEmpty)
    }

    @Test("failure 535 5.7.8, throttled and temporary failure 454 4.7.0, each logged without the password")
    func failures() {
        let cases: [(SMTPSession.AuthResult, String)] = [
            (.failure, "535 5.7.8 Authentication credentials invalid\r\n"),
            (.throttled, "454 4.7.0 Too many failed authentication attempts, try later\r\n"),
            (.temporaryFailure, "454 4.7.0 Temporary authentication failure\r\n"),
        ]
        for (result, expected) in cases {
            var harness = Harness.tls()
            harness.input("EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")
            #expect(harness.completeAuth(result) == expected)
            #expect(harness.logs.contains(.authFailed(user: "alice", mechanism: "PLAIN", result: result)))
            #expect(!harness.logs.map { "\($0)" }.joined().contains("secret"))
            #expect(harness.input("MAIL FROM:<a@b.test>\r\n") == "530 5.7.0 Authentication required\r\n")
        }
        let request = SMTPSession.AuthRequest(mechanism: "PLAIN", username: "u", password: "hunter2")
        #expect(!"\(request)".contains("hunter2"))
        #expect(!"\(SMTPSession.Action.authenticate(request))".contains("hunter2"))
        var dumped = ""
        dump(SMTPSession.Action.authenticate(request), to: &dumped)
        #expect(!dumped.contains("hunter2"))
        #expect(dumped.contains("<redacted>"))
    }

    @Test("unknown mechanisms get 504, AUTH needs EHLO, and is refused inside a transaction")
    func policy() {
        var harness = Harness.tls(trusted: true)
        #expect(harness.input("AUTH PLAIN\r\n") == "503 5.5.1 Error: send EHLO first\r\n")
        harness.input("EHLO c\r\n")
        #expect(harness.input("AUTH CRAM-MD5\r\n") == "504 5.5.4 Unrecognized authentication type\r\n")
        #expect(harness.input("AUTH\r\n") == "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n")
        harness.input("MAIL FROM:<a@b.test>\r\n")
        #expect(harness.input("AUTH PLAIN\r\n") == "503 5.5.1 Error: AUTH not permitted during a mail transaction\r\n")
    }

    @Test("an over-long SASL response line gets 500 5.5.6 and ends the exchange")
    func longResponse() {
        var harness = Harness.tls()
        harness.input("EHLO c\r\nAUTH PLAIN\r\n")
        #expect(harness.input(String(repeating: "A", count: 13_000) + "\r\n")
            == "500 5.5.6 Authentication exchange line is too long\r\n")
        #expect(harness.input("NOOP\r\n") == "250 2.0.0 OK\r\n")
    }

    @Test("XOAUTH2 passes user and bearer token, with or without an initial response")
    func xoauth2() {
        let config = SMTPSession.Configuration(hostname: "mx.test", portKind: .smtps, authMechanisms: ["PLAIN", "LOGIN", "XOAUTH2"])
        let response = SMTPBase64.encode(Array("user=alice\u{1}auth=Bearer tok123\u{1}\u{1}".utf8))
        var harness = Harness.tls(config)
        #expect(harness.input("EHLO c\r\n").contains("250-AUTH PLAIN LOGIN XOAUTH2\r\n"))
        harness.input("AUTH XOAUTH2 \(response)\r\n")
        #expect(harness.authRequests == [.init(mechanism: "XOAUTH2", username: "alice", password: "tok123")])
        var continued = Harness.tls(config)
        continued.input("EHLO c\r\n")
        #expect(continued.input("AUTH XOAUTH2\r\n") == "334 \r\n")
        continued.input(response + "\r\n")
        #expect(continued.authRequests.map(\.username) == ["alice"])
        var bad = Harness.tls(config)
        bad.input("EHLO c\r\n")
        #expect(bad.input("AUTH XOAUTH2 \(SMTPBase64.encode(Array("user=alice".utf8)))\r\n")
            == "501 5.5.2 Invalid XOAUTH2 authentication data\r\n")
    }

    @Test("only configured and implemented mechanisms are offered")
    func mechanisms() {
        var harness = Harness.tls(.init(hostname: "mx.test", portKind: .smtps, authMechanisms: ["LOGIN", "CRAM-MD5"]))
        let ehlo = harness.input("EHLO c\r\n")
        #expect(ehlo.contains("250-AUTH LOGIN\r\n"))
        #expect(harness.input("AUTH PLAIN\r\n") == "504 5.5.4 Unrecognized authentication type\r\n")
    }
}

@Suite("Submission and relay policy")
struct RelayPolicyTests {
    @Test("submission without AUTH: MAIL gets 530 5.7.0")
    func submissionNeedsAuth() {
        var harness = Harness.tls()
        harness.input("EHLO c\r\n")
        #expect(harness.input("MAIL FROM:<a@b.test>\r\n") == "530 5.7.0 Authentication required\r\n")
        var plain = Harness()
        plain.input("EHLO c\r\n")
        #expect(plain.input("MAIL FROM:<a@b.test>\r\n") == "530 5.7.0 Authentication required\r\n")
    }

    @Test("trusted networks may submit and relay without AUTH")
    func trustedSubmission() {
        var harness = Harness.tls(trusted: true)
        harness.input("EHLO c\r\n")
        #expect(harness.input("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@anywhere.test>\r\n")
            == "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n")
    }

    @Test("authenticated users relay anywhere and the envelope records user and tenant")
    func authenticatedRelay() throws {
        var harness = Harness.authenticated()
        #expect(harness.input("MAIL FROM:<alice@acme.test>\r\nRCPT TO:<x@anywhere.test>\r\n")
            == "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n")
        harness.input("DATA\r\nSubject: s\r\n\r\nx\r\n.\r\n")
        let envelope = try #require(harness.enqueued.first).envelope
        #expect(envelope.authenticatedUser == "alice")
        #expect(envelope.tenant == "acme")
        #expect(harness.message().contains("with ESMTPSA (version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384)"))
    }

    @Test("relay port: unauthenticated clients reach local domains (any case) but get 554 5.7.1 elsewhere")
    func relayPort() {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\nMAIL FROM:<a@remote.test>\r\n")
        #expect(harness.input("RCPT TO:<x@LOCAL.Test>\r\n") == "250 2.1.5 Recipient OK\r\n")
        #expect(harness.input("RCPT TO:<x@elsewhere.test>\r\n") == "554 5.7.1 Relay access denied\r\n")
        #expect(harness.input("RCPT TO:<x@[192.0.2.1]>\r\n") == "554 5.7.1 Relay access denied\r\n")
    }

    @Test("relay port: trusted networks may relay to any domain")
    func relayTrusted() {
        var harness = Harness(relayConfig, context: .init(clientAddress: "10.0.0.5", isTrustedNetwork: true))
        harness.input("EHLO c\r\nMAIL FROM:<a@remote.test>\r\n")
        #expect(harness.input("RCPT TO:<x@elsewhere.test>\r\n") == "250 2.1.5 Recipient OK\r\n")
    }
}
