import Foundation
import Testing

/// `cluster/up` with the built-in DNS responder: failover of the ingress name and regional answers.
/// These bind the standard ports on 127.0.0.1-3, so the suite runs serially.
@Suite("DNS responder on a local cluster", .serialized)
struct DNSClusterTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Runs a cluster script with a private cluster dir.
    static func cluster(_ dir: String, _ args: [String]) throws -> ProcessOutput {
        var env = ProcessInfo.processInfo.environment
        env["SENDARIX_CLUSTER_DIR"] = dir
        env["SENDARIX_BINARY"] = RelayProcess.binary
        return try run("/bin/bash", [root + "/cluster/" + args[0]] + args.dropFirst(), timeout: 120, environment: env)
    }

    static func dig(_ server: String, _ name: String, _ extra: [String] = []) throws -> [String] {
        let out = try run("/usr/bin/dig", ["+short", "+time=2", "+tries=3", "@\(server)", "-p", "53", name, "A"] + extra)
        return String(decoding: out.stdout, as: UTF8.self).split(separator: "\n").map(String.init).filter { !$0.hasPrefix(";") }.sorted()
    }

    /// Polls `condition` every 100 ms until it holds or `seconds` pass; returns the elapsed time.
    static func waitFor(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            if try condition() { return Date().timeIntervalSince(start) }
            usleep(100_000)
        }
        return nil
    }

    /// `cluster/up 3` in a fresh directory with `overlay` merged into every node's config; returns
    /// the directory (pass it to `down`). Throws when the cluster did not come up.
    static func up(overlay: String, _ extra: [String] = []) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-cl-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try overlay.write(toFile: dir + "/overlay.json", atomically: true, encoding: .utf8)
        let up = try cluster(dir, ["up", "3", "--overlay", dir + "/overlay.json"] + extra)
        guard up.status == 0 else {
            down(dir)
            throw HarnessError("cluster/up failed: \(up.stderr)")
        }
        return dir
    }

    /// Stops the cluster started by `up` and removes its directory.
    static func down(_ dir: String) {
        _ = try? cluster(dir, ["down", "--purge"])
        try? FileManager.default.removeItem(atPath: dir)
    }

    @Test("failover: a SIGKILLed node leaves the ingress answers once its health goes stale, and submission through the name goes on")
    func failover() throws {
        let dir = try Self.up(overlay: #"{"users": [{"name": "app", "password": "cluster-pass-1", "tenant": "t1"}], "delivery": {"enabled": false}}"#)
        defer { Self.down(dir) }
        let all = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
        #expect(try Self.waitFor(30) { try Self.dig("127.0.0.1", "smtp.relay.test") == all } != nil)
        // The zone publishes SPF for the node names (used in EHLO) and the apex.
        let txt = { (name: String) throws -> String in
            String(decoding: try run("/usr/bin/dig", ["+short", "@127.0.0.1", "-p", "53", name, "TXT"]).stdout, as: UTF8.self)
        }
        #expect(try txt("n2.relay.test").contains("v=spf1 ip4:127.0.0.2 -all"))
        #expect(try txt("relay.test").contains("v=spf1 ip4:127.0.0.1 ip4:127.0.0.2 ip4:127.0.0.3 -all"))
        // A client resolving the ingress name through the responder, trying each address, and trying
        // a message again (re-resolving) until a deadline when every address refused it: during a
        // Raft election a submission gets a temporary 451.
        let client = """
        import dns.resolver, smtplib, ssl, sys, json, time
        r = dns.resolver.Resolver(configure=False); r.nameservers = ["127.0.0.3"]; r.port = 53; r.lifetime = 10
        ok = []
        for i in range(int(sys.argv[1])):
            deadline = time.time() + 30
            done = False
            while not done and time.time() < deadline:
                try:
                    addrs = [a.to_text() for a in r.resolve("smtp.relay.test", "A")]
                except Exception:
                    addrs = []
                for a in addrs:
                    try:
                        s = smtplib.SMTP(a, 587, timeout=10); s.ehlo("c.test")
                        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
                        s.starttls(context=ctx); s.ehlo("c.test"); s.login("app", "cluster-pass-1")
                        s.sendmail("a@example.com", ["b@example.net"], b"Subject: %d\\r\\n\\r\\nx\\r\\n" % i)
                    except Exception as e:
                        print("message %d via %s: %r" % (i, a, e), file=sys.stderr)
                        continue
                    ok.append(a); done = True
                    try:
                        s.quit()
                    except Exception:
                        pass
                    break
                if not done:
                    time.sleep(0.5)
        print(json.dumps(ok))
        """
        let before = try python(client, ["10"], timeout: 360)
        #expect(before.status == 0, "\(before.stderr)")
        _ = try Self.cluster(dir, ["kill", "n2"])
        // Health goes stale 4 s after the last answer, plus a probe period; 30 s is for a loaded machine.
        let elapsed = try Self.waitFor(30) { try Self.dig("127.0.0.1", "smtp.relay.test") == ["127.0.0.1", "127.0.0.3"] }
        #expect(elapsed != nil, "n2 still advertised 30 s after SIGKILL")
        print("DNS failover: n2 left the ingress answers \(elapsed.map { String(format: "%.1f", $0) } ?? "-") s after SIGKILL")
        // The issue's deadline (a functional limit with a wide margin: 1.6-2.7 s measured under load).
        #expect((elapsed ?? .infinity) < 10, "a killed node must leave the answers within 10 s")
        let after = try python(client, ["10"], timeout: 360)
        let sent = (try? JSONSerialization.jsonObject(with: after.stdout) as? [String]) ?? []
        #expect(sent.count == 10, "\(String(decoding: after.stdout, as: UTF8.self)) \(after.stderr)")
        #expect(!sent.contains("127.0.0.2"))
    }

    @Test("regions: ECS from a region's subnet gets that region's nodes; with the region down, every healthy node")
    func regions() throws {
        let dir = try Self.up(overlay: #"{"dns": {"regions": {"eu": ["192.0.2.0/24"], "us": ["198.51.100.0/24"]}}, "delivery": {"enabled": false}}"#,
                              ["--regions", "eu,us,us"])
        defer { Self.down(dir) }
        #expect(try Self.waitFor(30) { try Self.dig("127.0.0.1", "smtp.relay.test").count == 3 } != nil)
        #expect(try Self.dig("127.0.0.1", "smtp.relay.test", ["+subnet=192.0.2.0/24"]) == ["127.0.0.1"])
        #expect(try Self.dig("127.0.0.1", "smtp.relay.test", ["+subnet=198.51.100.7/32"]) == ["127.0.0.2", "127.0.0.3"])
        _ = try Self.cluster(dir, ["kill", "n1"])
        let fallback = try Self.waitFor(30) {
            try Self.dig("127.0.0.2", "smtp.relay.test", ["+subnet=192.0.2.0/24"]) == ["127.0.0.2", "127.0.0.3"]
        }
        #expect(fallback != nil, "eu clients did not fall back to the us nodes")
    }
}
