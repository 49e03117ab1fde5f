import Foundation
import Testing
import TestSupport

/// API-managed SMTP credentials through real `sendarix serve` processes: a 3-node cluster
/// (127.54.0.1-3) where a credential created, rotated, suspended or revoked on one node holds on
/// the others without a reload, logins checked by python's smtplib.
@Suite("API-managed SMTP credentials", .serialized)
struct ManagedCredentialTests {
    static let ips = ["127.54.0.1", "127.54.0.2", "127.54.0.3"]

    /// argv: host port mechanism user secret [from rcpt message-file]. Logs in over STARTTLS
    /// (PLAIN via login(), XOAUTH2/OAUTHBEARER via auth()), then optionally sends one message.
    /// Prints JSON {"auth": [code, text], "data": [code, text]}.
    static let client = #"""
    import json, smtplib, ssl, sys
    host, port, mech, user, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP(host, port, timeout=30); s.ehlo("client.test"); s.starttls(context=ctx); s.ehlo("client.test")
    out = {"mechanisms": s.esmtp_features.get("auth", "").split()}
    try:
        if mech == "PLAIN":
            code, text = s.login(user, secret)
        elif mech == "XOAUTH2":
            first = [True]
            def xo(challenge=None):
                if first[0]: first[0] = False; return "user=%s\x01auth=Bearer %s\x01\x01" % (user, secret)
                out["challenge"] = challenge.decode(); return ""
            code, text = s.auth("XOAUTH2", xo)
        else:
            first = [True]
            def ob(challenge=None):
                if first[0]: first[0] = False; return "n,a=%s,\x01host=%s\x01port=%d\x01auth=Bearer %s\x01\x01" % (user, host, port, secret)
                out["challenge"] = challenge.decode(); return "\x01"
            code, text = s.auth("OAUTHBEARER", ob)
        out["auth"] = [code, text.decode()]
    except smtplib.SMTPAuthenticationError as e:
        out["auth"] = [e.smtp_code, e.smtp_error.decode()]
    if len(sys.argv) > 6 and out["auth"][0] == 235:
        s.mail(sys.argv[6]); s.rcpt(sys.argv[7])
        code, text = s.data(open(sys.argv[8], "rb").read())
        out["data"] = [code, text.decode()]
    try: s.quit()
    except Exception: pass
    print(json.dumps(out))
    """#

    /// Logs in (and optionally sends `message` from `from`); returns the client's JSON.
    static func login(_ relay: RelayProcess, _ user: String, _ secret: String, mechanism: String = "PLAIN",
                      from: String? = nil, message: String = "") throws -> [String: Any] {
        let (host, port) = relay.address("submission")
        var args = [host, String(port), mechanism, user, secret]
        if let from {
            let file = relay.directory + "/msg-\(UUID().uuidString).eml"
            try message.write(toFile: file, atomically: true, encoding: .utf8)
            args += [from, "rcpt@local.test", file]
        }
        let out = try python(client, args)
        guard let obj = try? JSONSerialization.jsonObject(with: out.stdout) as? [String: Any] else {
            throw HarnessError("client failed: \(String(decoding: out.stdout, as: UTF8.self)) \(out.stderr)")
        }
        return obj
    }

    static func code(_ result: [String: Any], _ key: String = "auth") -> Int { (result[key] as? [Any])?.first as? Int ?? 0 }
    static func text(_ result: [String: Any], _ key: String = "auth") -> String { (result[key] as? [Any])?.last as? String ?? "" }

    static func request(_ relay: RelayProcess, _ method: String, _ path: String, _ body: [String: Any]? = nil) throws -> (Int, [String: Any]) {
        try SendingDomainTests.request(relay, method, path, body)
    }

    /// Waits (up to `seconds`) for `condition` and returns how long it took, or nil.
    static func timeUntil(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Double? {
        let start = Date()
        return try ClusterRaftTests.waitFor(seconds, condition) ? Date().timeIntervalSince(start) : nil
    }

    @Test("a credential created on one node logs in on the others; rotation keeps both passwords; suspension gives its reason; revocation ends it, also for an open session")
    func cluster() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-cred-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let nodes = try ClusterRaftTests.startCluster(dir, ips: Self.ips, extra: ["policy": ["maxAuthFailuresPerIP": 1000]])
        defer { for n in nodes { n.cleanUp() } }
        #expect(ClusterRaftTests.waitFor(30) { ClusterRaftTests.leader(nodes) != nil })

        var created: (Int, [String: Any]) = (0, [:])
        #expect(ClusterRaftTests.waitFor(30) {
            created = (try? Self.request(nodes[0], "POST", "/v1/tenants", ["name": "acme"])) ?? (0, [:])
            return created.0 == 201
        }, "\(created)")
        // Created on n1 with a server-generated password, shown once.
        created = try Self.request(nodes[0], "POST", "/v1/tenants/acme/credentials",
                                   ["username": "app1", "environment": "production", "allowedSenderDomains": ["example.com"]])
        #expect(created.0 == 201)
        let password = try #require(created.1["password"] as? String)
        #expect(password.count >= 24 && created.1["username"] as? String == "app1")
        let shown = try Self.request(nodes[0], "GET", "/v1/tenants/acme/credentials/app1")
        #expect(shown.0 == 200 && shown.1["password"] == nil && shown.1["environment"] as? String == "production")

        // n2 and n3 hold it without a reload; the time it took is printed.
        for node in nodes[1...] {
            let took = Self.timeUntil(10) { (try? Self.request(node, "GET", "/v1/tenants/acme/credentials/app1"))?.0 == 200 }
            #expect(took != nil)
            print("credential visible on \(node.config["node"].map { ($0 as! [String: Any])["id"]! } ?? "") after \(took ?? -1) s")
            let r = try Self.login(node, "app1", password, from: "a@example.com", message: "From: a@example.com\r\nSubject: hi\r\n\r\nhi\r\n")
            #expect(Self.code(r) == 235 && Self.code(r, "data") == 250, "\(r)")
        }
        // Only the listed sender domains.
        let wrongFrom = try Self.login(nodes[1], "app1", password, from: "a@example.com", message: "From: x@other.test\r\n\r\nhi\r\n")
        #expect(Self.code(wrongFrom, "data") == 550 && Self.text(wrongFrom, "data").contains("other.test is not allowed"))
        #expect(Self.code(try Self.login(nodes[2], "app1", "not-the-password")) == 535)
        // The config-file user keeps working.
        #expect(Self.code(try Self.login(nodes[2], "alice", "s3cret-pass")) == 235)
        // Last use recorded through the log, visible everywhere.
        #expect(ClusterRaftTests.waitFor(10) {
            (try? Self.request(nodes[0], "GET", "/v1/tenants/acme/credentials/app1"))?.1["lastUsedAt"] is String
        })

        // Rotated on n2: on n3 both passwords log in during the grace period.
        let rotated = try Self.request(nodes[1], "POST", "/v1/tenants/acme/credentials/app1/rotate", ["graceSeconds": 3600])
        let newPassword = try #require(rotated.1["password"] as? String)
        #expect(ClusterRaftTests.waitFor(10) {
            ((try? Self.request(nodes[2], "GET", "/v1/tenants/acme/credentials/app1"))?.1["passwords"] as? [Any])?.count == 2
        })
        #expect(Self.code(try Self.login(nodes[2], "app1", newPassword)) == 235)
        #expect(Self.code(try Self.login(nodes[2], "app1", password)) == 235)
        // A rotation without grace: only the newest works.
        let hard = try Self.request(nodes[1], "POST", "/v1/tenants/acme/credentials/app1/rotate", ["graceSeconds": 0])
        let third = try #require(hard.1["password"] as? String)
        #expect(ClusterRaftTests.waitFor(10) {
            ((try? Self.request(nodes[2], "GET", "/v1/tenants/acme/credentials/app1"))?.1["passwords"] as? [Any])?.count == 1
        })
        #expect(Self.code(try Self.login(nodes[2], "app1", newPassword)) == 535)
        #expect(Self.code(try Self.login(nodes[2], "app1", third)) == 235)

        // Suspended on n3: refused on n1 with the reason; resumed: back.
        #expect(try Self.request(nodes[2], "POST", "/v1/tenants/acme/credentials/app1/suspend", ["reason": "leaked in CI"]).0 == 200)
        #expect(ClusterRaftTests.waitFor(10) {
            (try? Self.request(nodes[0], "GET", "/v1/tenants/acme/credentials/app1"))?.1["state"] as? String == "suspended"
        })
        let suspended = try Self.login(nodes[0], "app1", third)
        #expect(Self.code(suspended) == 535 && Self.text(suspended).contains("suspended: leaked in CI"), "\(suspended)")
        #expect(try Self.request(nodes[2], "POST", "/v1/tenants/acme/credentials/app1/resume").0 == 200)
        #expect(ClusterRaftTests.waitFor(10) { (try? Self.login(nodes[0], "app1", third)).map { Self.code($0) } == 235 })

        // Revoked on n1: gone on n2 (its next login fails), and a session that logged in before
        // the revocation cannot send any more.
        let (host, port) = nodes[1].address("submission")
        let open = try ChildProcess("/usr/bin/python3", ["-c", Self.heldSession, host, String(port), "app1", third, dir + "/held"],
                                    stdoutPath: dir + "/held.out", stderrPath: dir + "/held.err")
        defer { open.signal(SIGKILL); _ = open.wait() }
        #expect(ClusterRaftTests.waitFor(30) { FileManager.default.fileExists(atPath: dir + "/held.ready") })
        let revoked = try Self.request(nodes[0], "DELETE", "/v1/tenants/acme/credentials/app1")
        #expect(revoked.0 == 200)
        let gone = Self.timeUntil(10) { (try? Self.request(nodes[1], "GET", "/v1/tenants/acme/credentials/app1"))?.0 == 404 }
        #expect(gone != nil)
        print("revocation visible on n2 after \(gone ?? -1) s")
        #expect(Self.code(try Self.login(nodes[1], "app1", third)) == 535)
        try "go".write(toFile: dir + "/held.go", atomically: true, encoding: .utf8)
        #expect(open.wait(timeout: 30) == 0)
        let held = (try? String(contentsOfFile: dir + "/held.out", encoding: .utf8)) ?? ""
        #expect(held.contains("550") && held.contains("revoked"), "\(held)")
    }

    @Test("an imported hash weaker than 600,000 iterations is rehashed through the log after a login; the CLI lists, suspends and revokes")
    func rehashAndCLI() throws {
        let relay = try RelayProcess(overlay: [
            "node": ["id": "cred1"], "listen": ["submission": ["127.54.2.1:0"], "smtps": [], "relay": []],
        ])
        defer { relay.cleanUp() }
        let (host, port) = relay.address("admin")
        func cli(_ args: [String]) throws -> (Int32, String) {
            let out = try run(RelayProcess.binary, args + ["--admin", "http://\(host):\(port)", "--token", relay.adminToken])
            return (out.status, String(decoding: out.stdout, as: UTF8.self) + out.stderr)
        }
        #expect(try cli(["tenants", "create", "acme"]).0 == 0)
        let hash = String(decoding: try python("""
            import base64, hashlib
            salt = b"0123456789abcdef"
            dk = hashlib.pbkdf2_hmac("sha256", b"legacy-password-1", salt, 100000, 32)
            print("$pbkdf2-sha256$i=100000$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(dk).decode())
            """).stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let imported = try Self.request(relay, "POST", "/v1/tenants/acme/credentials", ["username": "legacy", "passwordHash": hash])
        #expect(imported.0 == 201 && imported.1["password"] == nil)
        func iterations() -> Int? {
            ((try? Self.request(relay, "GET", "/v1/tenants/acme/credentials/legacy"))?.1["passwords"] as? [[String: Any]])?.first?["iterations"] as? Int
        }
        #expect(iterations() == 100_000)
        #expect(Self.code(try Self.login(relay, "legacy", "legacy-password-1")) == 235)
        #expect(ClusterRaftTests.waitFor(20) { iterations() == 600_000 })
        #expect(Self.code(try Self.login(relay, "legacy", "legacy-password-1")) == 235)
        #expect(Self.code(try Self.login(relay, "legacy", "legacy-password-2")) == 535)

        let created = try cli(["credentials", "create", "acme", "--username", "cli1", "--networks", "127.0.0.0/8",
                               "--environment", "staging"])
        #expect(created.0 == 0 && created.1.contains("\"password\"") && created.1.contains("staging"), "\(created)")
        let listed = try cli(["credentials", "list", "acme"])
        #expect(listed.0 == 0 && listed.1.contains("legacy") && listed.1.contains("cli1"))
        #expect(try cli(["credentials", "suspend", "acme", "legacy", "--reason", "audit"]).0 == 0)
        #expect(try Self.request(relay, "GET", "/v1/tenants/acme/credentials/legacy").1["stateReason"] as? String == "audit")
        #expect(try cli(["credentials", "revoke", "acme", "legacy"]).0 == 0)
        #expect(try Self.request(relay, "GET", "/v1/tenants/acme/credentials/legacy").0 == 404)
        #expect(try cli(["credentials", "show", "acme", "legacy"]).0 != 0)
        // A config-file user's name cannot be taken.
        #expect(try Self.request(relay, "POST", "/v1/tenants/acme/credentials", ["username": "alice"]).0 == 400)
    }

    /// A plain SMTP sink on argv[1] (port 0): writes its port to argv[2], and the client address of
    /// every delivered message to argv[3], one per line.
    static let sink = #"""
    import socketserver, sys
    class H(socketserver.StreamRequestHandler):
        def handle(self):
            w = lambda s: self.wfile.write((s + "\r\n").encode())
            w("220 sink.test ESMTP")
            while True:
                line = self.rfile.readline()
                if not line: return
                cmd = line.decode(errors="replace").strip().upper()
                if cmd.startswith("EHLO") or cmd.startswith("HELO"): w("250 sink.test")
                elif cmd == "DATA":
                    w("354 go")
                    while self.rfile.readline() not in (b".\r\n", b".\n", b""): pass
                    with open(sys.argv[3], "a") as f: f.write(self.client_address[0] + "\n")
                    w("250 2.0.0 stored")
                elif cmd == "QUIT": w("221 bye"); return
                else: w("250 2.0.0 ok")
    class S(socketserver.ThreadingTCPServer): allow_reuse_address = True; daemon_threads = True
    srv = S((sys.argv[1], 0), H)
    open(sys.argv[2], "w").write(str(srv.server_address[1]))
    srv.serve_forever()
    """#

    @Test("a credential's source pool is where its mail leaves from; a pool the node lacks is refused")
    func sourcePool() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-pool-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sink = try ChildProcess("/usr/bin/python3", ["-c", Self.sink, "127.54.3.1", dir + "/port", dir + "/peers"],
                                    stdoutPath: dir + "/sink.out", stderrPath: dir + "/sink.err")
        defer { sink.signal(SIGKILL); _ = sink.wait() }
        // Until the port file holds a whole number (it exists before it is written); a hang guard.
        var port = ""
        try #require(ClusterRaftTests.waitFor(60) {
            port = (try? String(contentsOfFile: dir + "/port", encoding: .utf8)) ?? ""
            return Int(port) != nil
        }, "the sink did not write its port")
        let relay = try RelayProcess(overlay: [
            "node": ["id": "pool1"], "listen": ["submission": ["127.54.3.2:0"], "smtps": [], "relay": []],
            "delivery": ["enabled": true, "sourceAddresses": ["127.54.3.5"], "pools": [["name": "p7", "addresses": ["127.54.3.7"]]]],
            "routes": [["domain": "dest.test", "hosts": ["127.54.3.1:\(port)"], "tls": "none"]],
        ])
        defer { relay.cleanUp() }
        #expect(try Self.request(relay, "POST", "/v1/tenants", ["name": "acme"]).0 == 201)
        #expect(try Self.request(relay, "POST", "/v1/tenants/acme/credentials", ["username": "bad", "sourcePool": "nope"]).0 == 400)
        let pooled = try Self.request(relay, "POST", "/v1/tenants/acme/credentials", ["username": "pooled", "sourcePool": "p7"])
        let plain = try Self.request(relay, "POST", "/v1/tenants/acme/credentials", ["username": "plain"])
        for (user, r) in [("pooled", pooled), ("plain", plain)] {
            let password = try #require(r.1["password"] as? String)
            let (host, smtpPort) = relay.address("submission")
            let file = dir + "/\(user).eml"
            try "From: a@acme.test\r\nSubject: \(user)\r\n\r\nhi\r\n".write(toFile: file, atomically: true, encoding: .utf8)
            let out = try python(Self.client, [host, String(smtpPort), "PLAIN", user, password, "a@acme.test", "rcpt@dest.test", file])
                .stdout
            let obj = try JSONSerialization.jsonObject(with: out) as? [String: Any] ?? [:]
            #expect(Self.code(obj, "data") == 250, "\(obj)")
            // Sent one after the other, so the n-th line is the n-th message's.
            let n = user == "pooled" ? 1 : 2
            #expect(ClusterRaftTests.waitFor(20) {
                ((try? String(contentsOfFile: dir + "/peers", encoding: .utf8)) ?? "").split(separator: "\n").count >= n
            })
        }
        let peers = try String(contentsOfFile: dir + "/peers", encoding: .utf8).split(separator: "\n")
        #expect(peers == ["127.54.3.7", "127.54.3.5"], "\(peers)")
    }

    /// Logs in, touches argv[5].ready, waits for argv[5].go, then sends one message; prints the reply.
    static let heldSession = #"""
    import os, smtplib, ssl, sys, time
    host, port, user, pw, base = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP(host, port, timeout=60); s.ehlo("c"); s.starttls(context=ctx); s.ehlo("c"); s.login(user, pw)
    open(base + ".ready", "w").close()
    while not os.path.exists(base + ".go"): time.sleep(0.05)
    s.mail("a@example.com"); s.rcpt("rcpt@local.test")
    try:
        code, text = s.data(b"From: a@example.com\r\n\r\nhi\r\n")
    except smtplib.SMTPDataError as e:
        code, text = e.smtp_code, e.smtp_error
    print(code, text.decode())
    """#
}
