import Foundation
import Testing

/// Limits, throttles and certificate reload through the real binary.
@Suite("Policy, limits and TLS reload", .serialized)
struct PolicyTests {
    @Test("per-IP connection limit: the connection over the limit gets 421 4.7.0 and others keep working")
    func connectionsPerIP() throws {
        let relay = try RelayProcess(overlay: ["policy": ["maxConnectionsPerIP": 3]])
        defer { relay.cleanUp() }
        let script = """
        import socket, sys
        host, port = sys.argv[1], int(sys.argv[2])
        socks = [socket.create_connection((host, port), timeout=10) for _ in range(3)]
        print("greetings", [s.recv(200).decode()[:3] for s in socks])
        extra = socket.create_connection((host, port), timeout=10)
        print("extra", extra.recv(200).decode().strip())
        socks[0].sendall(b"QUIT\\r\\n"); print("quit", socks[0].recv(200).decode()[:3]); socks[0].close()
        import time
        for _ in range(50):
            s = socket.create_connection((host, port), timeout=10); g = s.recv(200).decode()[:3]; s.close()
            if g == "220": break
            time.sleep(0.1)
        print("after-release", g)
        """
        let out = try python(script, ["127.0.0.1", String(relay.port("relay"))])
        let text = String(decoding: out.stdout, as: UTF8.self)
        #expect(text.contains("greetings ['220', '220', '220']"), "\(text) \(out.stderr)")
        #expect(text.contains("extra 421 4.7.0"))
        #expect(text.contains("after-release 220"))
    }

    @Test("failed AUTH attempts are throttled per client IP: after the limit even the right password gets 454")
    func authThrottle() throws {
        let relay = try RelayProcess(overlay: ["policy": ["maxAuthFailuresPerIP": 2, "authFailureWindowSeconds": 300]])
        defer { relay.cleanUp() }
        let script = """
        import smtplib, ssl, sys
        host, port = sys.argv[1], int(sys.argv[2])
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
        codes = []
        for pw in ["bad-1", "bad-2", "s3cret-pass"]:
            s = smtplib.SMTP(host, port, timeout=30); s.starttls(context=ctx); s.ehlo("t.test")
            s.user, s.password = "alice", pw
            try:
                codes.append(s.auth("PLAIN", s.auth_plain)[0])  # one mechanism: one attempt
            except smtplib.SMTPAuthenticationError as e:
                codes.append(e.smtp_code)
            s.close()
        print(codes)
        """
        let out = try python(script, ["127.0.0.1", String(relay.port("submission"))])
        #expect(String(decoding: out.stdout, as: UTF8.self).contains("[535, 535, 454]"), "\(out.stderr)")
    }

    @Test("SIGHUP reloads the certificate: new sessions see the new one, the node keeps running")
    func certificateReload() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-tlsr-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func makeCert(_ cn: String) throws {
            let r = try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                                                 "-subj", "/CN=\(cn)", "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        try makeCert("first.test")
        let relay = try RelayProcess(overlay: ["tls": ["certificate": dir + "/cert.pem", "privateKey": dir + "/key.pem"]])
        defer { relay.cleanUp() }
        let probe = """
        import socket, ssl, sys
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
        t = ctx.wrap_socket(s)
        der = t.getpeercert(binary_form=True)
        import subprocess
        out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject"], input=der, capture_output=True).stdout
        print(out.decode().strip())
        """
        let port = String(relay.port("smtps"))
        #expect(String(decoding: try python(probe, ["127.0.0.1", port]).stdout, as: UTF8.self).contains("first.test"))
        try makeCert("second.test")
        relay.process.signal(SIGHUP)
        var seen = ""
        for _ in 0..<50 {
            seen = String(decoding: try python(probe, ["127.0.0.1", port]).stdout, as: UTF8.self)
            if seen.contains("second.test") { break }
            usleep(100_000)
        }
        #expect(seen.contains("second.test"), "\(seen)")
        #expect(relay.process.isRunning)
    }

    static let authProbe = """
    import smtplib, ssl, sys
    host, port = sys.argv[1], int(sys.argv[2])
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    codes = []
    for pair in sys.argv[3:]:
        user, pw = pair.split(":", 1)
        s = smtplib.SMTP(host, port, timeout=30); s.starttls(context=ctx); s.ehlo("t.test")
        s.user, s.password = user, pw
        try:
            codes.append(s.auth("PLAIN", s.auth_plain)[0])
        except smtplib.SMTPAuthenticationError as e:
            codes.append(e.smtp_code)
        s.close()
    print(codes)
    """

    /// Polls the node's log until `text` appears `count` times (or 20 s pass).
    static func waitForLog(_ relay: RelayProcess, _ text: String, count: Int = 1) -> Bool {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if relay.log().components(separatedBy: text).count - 1 >= count { return true }
            usleep(20_000)
        }
        return false
    }

    @Test("SIGHUP re-reads the config: added users can log in, removed ones cannot, other changes are named as needing a restart, and a broken file keeps the running config")
    func configReload() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let port = String(relay.port("submission"))
        func codes(_ pairs: [String]) throws -> String {
            let out = try python(Self.authProbe, ["127.0.0.1", port] + pairs)
            return String(decoding: out.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) + out.stderr
        }
        #expect(try codes(["alice:s3cret-pass", "bob:bob-pass-1"]) == "[235, 535]")

        var changed = relay.config
        changed["users"] = [["name": "bob", "password": "bob-pass-1", "tenant": "acme"]]
        changed["limits"] = ["maxRecipients": 500]
        try JSONSerialization.data(withJSONObject: changed, options: [.prettyPrinted])
            .write(to: URL(fileURLWithPath: relay.configPath))
        relay.process.signal(SIGHUP)
        #expect(Self.waitForLog(relay, "config reloaded"), "\(relay.log())")
        #expect(relay.log().contains("\"restartNeededFor\":\"limits\""), "\(relay.log())")
        #expect(try codes(["bob:bob-pass-1", "alice:s3cret-pass"]) == "[235, 535]")

        // A user may not name a pool the running node lacks (pools need a restart): refused whole.
        var pooled = changed
        pooled["users"] = [["name": "carol", "password": "carol-pass-1", "pool": "bulk2"]]
        pooled["delivery"] = ["enabled": false, "pools": [["name": "bulk2", "addresses": ["127.0.0.5"]]]]
        try JSONSerialization.data(withJSONObject: pooled, options: [.prettyPrinted])
            .write(to: URL(fileURLWithPath: relay.configPath))
        relay.process.signal(SIGHUP)
        #expect(Self.waitForLog(relay, "config reload refused"), "\(relay.log())")
        #expect(try codes(["carol:carol-pass-1", "bob:bob-pass-1"]) == "[535, 235]")

        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: relay.configPath))
        relay.process.signal(SIGHUP)
        #expect(Self.waitForLog(relay, "config reload failed"), "\(relay.log())")
        #expect(relay.process.isRunning)
        #expect(try codes(["bob:bob-pass-1"]) == "[235]")
    }
}
