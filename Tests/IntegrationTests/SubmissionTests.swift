import Foundation
import Testing

/// Integration tests against the real `sendarix` binary with real SMTP clients:
/// Python's smtplib, swaks and curl. Each test starts its own node on port-0 listeners.
@Suite("Submission through real clients", .serialized)
struct SubmissionTests {
    static let smtplibSend = """
    import smtplib, ssl, sys, json
    mode, host, port, user, password = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    mech = sys.argv[6] if len(sys.argv) > 6 else "PLAIN"
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    msg = b"From: a@example.com\\r\\nTo: b@example.net\\r\\nSubject: hi\\r\\n\\r\\nbody line\\r\\n.leading dot\\r\\n"
    if mode == "smtps":
        s = smtplib.SMTP_SSL(host, port, context=ctx, timeout=30)
    else:
        s = smtplib.SMTP(host, port, timeout=30)
        s.ehlo("client.test")
        s.starttls(context=ctx)
    s.ehlo("client.test")
    s.user, s.password = user, password
    auth_code, resp = s.auth(mech, getattr(s, "auth_" + mech.lower().replace("-", "_")), initial_response_ok=(mech == "PLAIN"))
    r = s.sendmail("a@example.com", ["b@example.net", "c@example.net"], msg)
    print(json.dumps({"auth": auth_code, "refused": r, "tls": s.sock.version() if hasattr(s.sock, "version") else None}))
    s.quit()
    """

    @Test("smtplib: STARTTLS + AUTH PLAIN on submission, message queued with its exact bytes and two accepted events")
    func smtplibStartTLSPlain() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let out = try python(Self.smtplibSend, ["starttls", "127.0.0.1", String(relay.port("submission")), "alice", "s3cret-pass", "PLAIN"])
        #expect(out.status == 0, "\(out.stderr)\n\(relay.log())")
        let queue = try relay.adminJSON("/v1/queue")
        let entries = queue["messages"] as? [[String: Any]] ?? []
        #expect(entries.count == 1)
        let accepted = try relay.events("type=accepted")
        #expect(Set(accepted.compactMap { $0["recipient"] as? String }) == ["b@example.net", "c@example.net"])
        #expect(accepted.allSatisfy { ($0["tenant"] as? String) == "acme" })
        if let id = entries.first?["queueId"] as? String ?? entries.first?["id"] as? String {
            let (status, body) = try relay.admin("/v1/queue/\(id)/body")
            #expect(status == 200)
            let text = String(decoding: body, as: UTF8.self)
            #expect(text.hasPrefix("Received: from client.test"))
            #expect(text.contains("with ESMTPSA"))
            #expect(text.contains("\r\nbody line\r\n.leading dot\r\n"))
            #expect(text.contains("Message-ID: <"))
        }
    }

    @Test("smtplib: AUTH LOGIN after STARTTLS works")
    func smtplibLogin() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let out = try python(Self.smtplibSend, ["starttls", "127.0.0.1", String(relay.port("submission")), "alice", "s3cret-pass", "LOGIN"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(String(decoding: out.stdout, as: UTF8.self).contains("\"auth\": 235"))
    }

    @Test("smtplib: implicit TLS on the smtps port with AUTH PLAIN")
    func smtplibImplicitTLS() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let out = try python(Self.smtplibSend, ["smtps", "127.0.0.1", String(relay.port("smtps")), "alice", "s3cret-pass", "PLAIN"])
        #expect(out.status == 0, "\(out.stderr)\n\(relay.log())")
        let text = String(decoding: out.stdout, as: UTF8.self)
        #expect(text.contains("TLSv1.3") || text.contains("TLSv1.2"))
    }

    @Test("a wrong password gets 535 and nothing is queued; AUTH before TLS gets 538")
    func badPasswordAndAuthBeforeTLS() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let script = """
        import smtplib, ssl, sys
        host, port = sys.argv[1], int(sys.argv[2])
        s = smtplib.SMTP(host, port, timeout=30); s.ehlo("x.test")
        code, _ = s.docmd("AUTH", "PLAIN AGFsaWNlAHMzY3JldC1wYXNz")
        print("before-tls", code)
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
        s.starttls(context=ctx); s.ehlo("x.test")
        try:
            s.login("alice", "wrong-password"); print("login ok")
        except smtplib.SMTPAuthenticationError as e:
            print("bad-password", e.smtp_code)
        code, _ = s.docmd("MAIL", "FROM:<a@example.com>")
        print("mail-unauth", code)
        """
        let out = try python(script, ["127.0.0.1", String(relay.port("submission"))])
        let text = String(decoding: out.stdout, as: UTF8.self)
        #expect(text.contains("before-tls 538"), "\(text) \(out.stderr)")
        #expect(text.contains("bad-password 535"))
        #expect(text.contains("mail-unauth 530"))
        #expect(!relay.log().contains("wrong-password"))
        let queue = try relay.adminJSON("/v1/queue")
        #expect((queue["messages"] as? [[String: Any]] ?? []).isEmpty)
    }

    @Test("swaks: STARTTLS + AUTH PLAIN with pipelining gets 250 queued as ID")
    func swaks() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let out = try run("/usr/bin/swaks", ["--server", "127.0.0.1:\(relay.port("submission"))", "--tls",
                                             "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "s3cret-pass",
                                             "--from", "app@example.com", "--to", "user+tag@example.net",
                                             "--pipeline", "--helo", "ci.test", "--timeout", "30"])
        let text = String(decoding: out.stdout, as: UTF8.self)
        #expect(out.status == 0, "\(text)\n\(out.stderr)")
        #expect(text.contains("250 2.0.0 OK: queued as "))
        let accepted = try relay.events("type=accepted&recipient=user%2Btag@example.net")
        #expect(accepted.count == 1)
    }

    @Test("curl --mail-from over STARTTLS with --ssl-reqd uploads a message")
    func curlUpload() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let dir = relay.directory
        try "From: a@example.com\r\nTo: b@example.net\r\nSubject: curl\r\n\r\nhello from curl\r\n".write(
            toFile: dir + "/mail.txt", atomically: true, encoding: .utf8)
        let out = try run("/usr/bin/curl", ["-s", "-S", "--ssl-reqd", "-k", "smtp://127.0.0.1:\(relay.port("submission"))",
                                            "--mail-from", "a@example.com", "--mail-rcpt", "b@example.net",
                                            "--user", "alice:s3cret-pass", "--upload-file", dir + "/mail.txt"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(try relay.events("type=accepted").count == 1)
    }

    @Test("relay port: unauthenticated mail to a local domain is accepted, to a foreign domain gets 554 5.7.1")
    func relayPolicy() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let script = """
        import smtplib, sys
        s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=30); s.ehlo("mta.test")
        s.mail("x@remote.test")
        print("local", s.rcpt("postmaster@local.test")[0])
        print("foreign", s.rcpt("someone@elsewhere.test")[0])
        print("data", s.data(b"Subject: t\\r\\n\\r\\nhi\\r\\n")[0])
        """
        let out = try python(script, ["127.0.0.1", String(relay.port("relay"))])
        let text = String(decoding: out.stdout, as: UTF8.self)
        #expect(text.contains("local 250"), "\(text)\(out.stderr)")
        #expect(text.contains("foreign 554"))
        #expect(text.contains("data 250"))
        let accepted = try relay.events("type=accepted")
        #expect(accepted.compactMap { $0["recipient"] as? String } == ["postmaster@local.test"])
    }

    @Test("BDAT with CHUNKING: binary chunks arrive byte-exact")
    func bdat() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let script = """
        import socket, sys, ssl, base64
        host, port = sys.argv[1], int(sys.argv[2])
        s = socket.create_connection((host, port), timeout=30)
        f = s.makefile("rb")
        def reply():
            lines = []
            while True:
                l = f.readline(); lines.append(l)
                if l[3:4] != b"-": return lines
        reply(); s.sendall(b"EHLO c.test\\r\\n"); ehlo = reply()
        assert any(b"CHUNKING" in l for l in ehlo), ehlo
        chunk1 = b"Subject: bdat\\r\\n\\r\\nbinary:" + bytes(range(256))
        chunk2 = b"\\r\\n.\\r\\nnot the end\\r\\n"
        s.sendall(b"MAIL FROM:<x@remote.test> BODY=BINARYMIME\\r\\nRCPT TO:<a@local.test>\\r\\n" +
                  b"BDAT %d\\r\\n" % len(chunk1) + chunk1 + b"BDAT %d LAST\\r\\n" % len(chunk2) + chunk2)
        for name in ("mail", "rcpt", "bdat1", "bdat2"):
            print(name, reply()[-1].decode().strip())
        s.sendall(b"QUIT\\r\\n"); reply()
        """
        let out = try python(script, ["127.0.0.1", String(relay.port("relay"))])
        let text = String(decoding: out.stdout, as: UTF8.self)
        #expect(text.contains("bdat2 250 2.0.0 OK: queued as"), "\(text)\(out.stderr)")
        let queue = try relay.adminJSON("/v1/queue")
        let id = (queue["messages"] as? [[String: Any]])?.first?["queueId"] as? String ?? ""
        let (_, body) = try relay.admin("/v1/queue/\(id)/body")
        var expected = Array("binary:".utf8) + (0...255).map { UInt8($0) }
        expected += Array("\r\n.\r\nnot the end\r\n".utf8)
        let bytes = Array(body)
        #expect(bytes.count >= expected.count && Array(bytes.suffix(expected.count)) == expected)
    }
}
