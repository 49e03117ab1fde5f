import Foundation
import Testing
import TestSupport

/// Per-credential limits held across a two-node Raft cluster (127.55.1.1-2), and compromised-credential
/// auto-suspension on one node, through the real binary with Python's smtplib as the client.
@Suite("Sending limits and abuse detection", .serialized)
struct SendingLimitsTests {
    /// smtplib helpers shared by the scripts: a logged-in session and one message whose every reply is recorded.
    static let helpers = #"""
    import json, smtplib, ssl, sys, time, urllib.request
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    def session(host, port):
        s = smtplib.SMTP(host, int(port), timeout=15); s.ehlo("client.test"); s.starttls(context=ctx)
        s.ehlo("client.test"); s.login("alice", "s3cret-pass"); return s
    def message(s, rcpts):
        out = {}
        code, text = s.mail("alice@sender.test"); out["mail"] = [code, text.decode()]
        if code != 250:
            s.rset(); return out
        out["rcpt"] = []
        for r in rcpts:
            c, t = s.rcpt(r); out["rcpt"].append([c, t.decode()])
        if not any(c == 250 for c, _ in out["rcpt"]):
            s.rset(); return out
        code, text = s.data("Subject: limits\r\n\r\nhello\r\n"); out["data"] = [code, text.decode()]
        return out
    def admin(url, token, path):
        req = urllib.request.Request(url + path, headers={"Authorization": "Bearer " + token})
        return json.loads(urllib.request.urlopen(req, timeout=5).read())
    def wait_for(cond, seconds=15):
        end = time.time() + seconds
        while time.time() < end:
            if cond(): return True
            time.sleep(0.05)
        return cond()
    """#

    static func twoNodes(_ dir: String, extra: [String: Any]) throws -> [RelayProcess] {
        let ips = ["127.55.1.1", "127.55.1.2"]
        let secret = dir + "/cluster.key"
        try "limits-secret-\(UUID().uuidString)".write(toFile: secret, atomically: true, encoding: .utf8)
        var nodes: [RelayProcess] = []
        for i in 0..<2 {
            let j = 1 - i
            let overlay: [String: Any] = [
                "node": ["id": "n\(i + 1)"],
                "listen": ["peer": "\(ips[i]):7700", "submission": ["\(ips[i]):0"], "smtps": [], "relay": []],
                "cluster": ["peers": [["id": "n\(j + 1)", "address": "\(ips[j]):7700"]], "secretFile": secret],
            ]
            nodes.append(try RelayProcess(overlay: RelayProcess.merge(overlay, extra)))
        }
        return nodes
    }

    @Test("a credential's daily message, per-message recipient and session limits hold across two nodes")
    func clusterWide() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-limits-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let limits: [String: Any] = ["messagesPerDay": 10, "recipientsPerMessage": 2, "concurrentConnections": 2]
        let nodes = try Self.twoNodes(dir, extra: [
            "users": [["name": "alice", "password": "s3cret-pass", "tenant": "acme", "limits": limits]],
            "sendingLimits": ["syncMillis": 200],
        ])
        defer { for n in nodes { n.cleanUp() } }
        let script = Self.helpers + "\n" + #"""
        n1, n2, a1, a2 = sys.argv[1:3], sys.argv[3:5], (sys.argv[5], sys.argv[7]), (sys.argv[6], sys.argv[8])
        subject = "/v1/limits?subject=credential/acme/alice"
        usage = lambda a: admin(a[0], a[1], subject)["usage"]
        # Raft elects a leader first: retry the first session until a message is accepted.
        first = None
        end = time.time() + 30
        while time.time() < end:
            try:
                s1 = session(*n1); first = message(s1, ["a@local.test", "b@local.test", "c@local.test"]); break
            except (smtplib.SMTPException, OSError):
                time.sleep(0.2)
        on_n1 = [message(s1, ["r@local.test"]) for _ in range(5)]
        synced = wait_for(lambda: usage(a2)["messagesInDay"] == 6)
        s2 = session(*n2)
        on_n2 = [message(s2, ["r@local.test"]) for _ in range(10)]
        # Two sessions are open (one per node): a third, on either node, is refused once both are known.
        both = wait_for(lambda: usage(a1)["connections"] == 2)
        try:
            third = smtplib.SMTP(n1[0], int(n1[1]), timeout=15); third.ehlo("client.test"); third.starttls(context=ctx)
            third.ehlo("client.test"); third.user, third.password = "alice", "s3cret-pass"
            third.auth("PLAIN", third.auth_plain); third_result = [235, "accepted"]
        except smtplib.SMTPAuthenticationError as e:
            third_result = [e.smtp_code, e.smtp_error.decode()]
        except smtplib.SMTPServerDisconnected as e:
            third_result = [0, str(e)]
        print(json.dumps({"first": first, "n1": on_n1, "n2": on_n2, "synced": synced, "both": both, "third": third_result}))
        """#
        let (h1, p1) = nodes[0].address("submission"), (h2, p2) = nodes[1].address("submission")
        let admin1 = "http://127.0.0.1:\(nodes[0].port("admin"))", admin2 = "http://127.0.0.1:\(nodes[1].port("admin"))"
        let out = try python(script, [h1, String(p1), h2, String(p2), admin1, admin2, nodes[0].adminToken,
                                     nodes[1].adminToken], timeout: 90)
        guard let result = (try? JSONSerialization.jsonObject(with: out.stdout)) as? [String: Any] else {
            Issue.record("no result: \(String(decoding: out.stdout, as: UTF8.self)) \(out.stderr)")
            return
        }
        // Recipients per message: the third RCPT of one message gets 452 4.5.3; the message goes with two.
        let first = result["first"] as? [String: Any]
        let rcpts = (first?["rcpt"] as? [[Any]])?.map { $0[0] as? Int }
        #expect(rcpts == [250, 250, 452])
        #expect(((first?["rcpt"] as? [[Any]])?.last?[1] as? String)?.hasPrefix("4.5.3") == true)
        #expect((first?["data"] as? [Any])?.first as? Int == 250)
        // Six messages on n1, then n2 admits only the four left of the day's ten.
        let n1Codes = (result["n1"] as? [[String: Any]])?.map { ($0["data"] as? [Any])?.first as? Int }
        #expect(n1Codes == Array(repeating: 250, count: 5))
        #expect(result["synced"] as? Bool == true)
        let n2Mail = (result["n2"] as? [[String: Any]])?.map { ($0["mail"] as? [Any])?.first as? Int } ?? []
        #expect(n2Mail == Array(repeating: 250, count: 4) + Array(repeating: 451, count: 6))
        let refusal = (result["n2"] as? [[String: Any]])?.last?["mail"] as? [Any]
        #expect((refusal?[1] as? String)?.hasPrefix("4.7.1") == true)
        // Concurrent sessions: the two open ones (one per node) fill the limit of two.
        #expect(result["both"] as? Bool == true)
        let third = result["third"] as? [Any]
        #expect(third?.first as? Int == 421)
        #expect((third?.last as? String)?.hasPrefix("4.7.0") == true)
        // The refusals became limit.exceeded events, replicated to both nodes.
        let seen = try ClusterRaftTests.waitFor(10) {
            try nodes.allSatisfy { try !$0.events("type=limit.exceeded").isEmpty }
        }
        #expect(seen)
        let counters = try nodes[1].adminJSON("/v1/limits")
        #expect(counters["ratesRefused"] as? Int == 6)
    }

    @Test("a credential bursting far above its history is suspended (550 5.7.1) until an operator lifts it")
    func autoSuspend() throws {
        let relay = try RelayProcess(overlay: [
            "abuse": ["action": "suspend", "learningHours": 0, "minBurstMessages": 5, "burstFactor": 10],
        ])
        defer { relay.cleanUp() }
        let (host, port) = relay.address("submission")
        let admin = "http://127.0.0.1:\(relay.port("admin"))"
        let script = Self.helpers + "\n" + #"""
        host, port, url, token, cli = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
        import subprocess
        s = session(host, port)
        burst = [message(s, ["r@local.test"]) for _ in range(6)]
        listed = admin(url, token, "/v1/suspensions")["suspensions"]
        lifted = subprocess.run([cli, "suspensions", "lift", "acme", "alice", "--admin", url, "--token", token],
                                capture_output=True, text=True)
        after = message(s, ["r@local.test"])
        print(json.dumps({"burst": burst, "listed": listed, "lift": lifted.returncode, "liftOut": lifted.stdout + lifted.stderr,
                          "after": after}))
        """#
        let out = try python(script, [host, String(port), admin, relay.adminToken, RelayProcess.binary], timeout: 60)
        guard let result = (try? JSONSerialization.jsonObject(with: out.stdout)) as? [String: Any] else {
            Issue.record("no result: \(String(decoding: out.stdout, as: UTF8.self)) \(out.stderr)")
            return
        }
        let burst = result["burst"] as? [[String: Any]] ?? []
        // Five accepted; the fifth trips the burst detector, so the sixth is refused with the reason.
        #expect(burst.prefix(5).map { ($0["data"] as? [Any])?.first as? Int } == Array(repeating: 250, count: 5))
        let refused = burst.last?["mail"] as? [Any]
        #expect(refused?.first as? Int == 550)
        let text = refused?.last as? String ?? ""
        #expect(text.hasPrefix("5.7.1") && text.contains("suspended") && text.contains("burst: 5 messages this hour"))
        let listed = result["listed"] as? [[String: Any]] ?? []
        #expect(listed.map { $0["username"] as? String } == ["alice"])
        #expect(listed.first?["by"] as? String == "detector")
        #expect(result["lift"] as? Int == 0, "\(result["liftOut"] ?? "")")
        #expect(((result["after"] as? [String: Any])?["data"] as? [Any])?.first as? Int == 250)
        let events = try relay.events("type=credential.suspended")
        #expect(events.count == 1)
        #expect(try relay.events("type=credential.reinstated").count == 1)
    }

    @Test("recipients refused by the receiving MTA make a bounce spike that suspends the credential")
    func bounceSpike() throws {
        let sink = try SinkProcess(flags: ["-f", "RCPT"])
        defer { sink.stop() }
        let relay = try RelayProcess(overlay: [
            "delivery": ["enabled": true],
            "routes": [["domain": "bounce.test", "hosts": ["127.0.0.1:\(sink.port)"], "tls": "none"]],
            "abuse": ["action": "suspend", "learningHours": 0, "minBounceSample": 3, "bounceRate": 0.5, "minBurstMessages": 1000],
        ])
        defer { relay.cleanUp() }
        let (host, port) = relay.address("submission")
        let script = Self.helpers + "\n" + #"""
        host, port, url, token = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
        s = session(host, port)
        sent = [message(s, ["x%d@bounce.test" % i]) for i in range(3)]
        suspended = wait_for(lambda: len(admin(url, token, "/v1/suspensions")["suspensions"]) > 0, 30)
        after = message(s, ["y@bounce.test"])
        print(json.dumps({"sent": sent, "suspended": suspended, "after": after}))
        """#
        let out = try python(script, [host, String(port), "http://127.0.0.1:\(relay.port("admin"))", relay.adminToken], timeout: 60)
        guard let result = (try? JSONSerialization.jsonObject(with: out.stdout)) as? [String: Any] else {
            Issue.record("no result: \(String(decoding: out.stdout, as: UTF8.self)) \(out.stderr)")
            return
        }
        let sent = (result["sent"] as? [[String: Any]] ?? []).map { ($0["data"] as? [Any])?.first as? Int }
        #expect(sent == [250, 250, 250])
        #expect(result["suspended"] as? Bool == true, "\(relay.log().suffix(2000))")
        let refused = (result["after"] as? [String: Any])?["mail"] as? [Any]
        #expect(refused?.first as? Int == 550)
        #expect((refused?.last as? String)?.contains("bounce-spike: 3 of 3 bounced") == true)
    }

    @Test("a tenant's limit from the file counts every credential of the tenant together")
    func tenantLimit() throws {
        let relay = try RelayProcess(overlay: [
            "users": [["name": "alice", "password": "s3cret-pass", "tenant": "acme"],
                      ["name": "bob", "password": "s3cret-pass", "tenant": "acme"]],
            "sendingLimits": ["tenants": ["acme": ["messagesPerDay": 3]]],
        ])
        defer { relay.cleanUp() }
        let (host, port) = relay.address("submission")
        let script = Self.helpers + "\n" + #"""
        host, port = sys.argv[1], sys.argv[2]
        def login(user):
            s = smtplib.SMTP(host, int(port), timeout=15); s.ehlo("client.test"); s.starttls(context=ctx)
            s.ehlo("client.test"); s.login(user, "s3cret-pass"); return s
        a, b = login("alice"), login("bob")
        out = [message(a, ["r@local.test"]), message(b, ["r@local.test"]), message(a, ["r@local.test"]),
               message(b, ["r@local.test"])]
        print(json.dumps([o["mail"] for o in out]))
        """#
        let out = try python(script, [host, String(port)], timeout: 60)
        guard let mails = (try? JSONSerialization.jsonObject(with: out.stdout)) as? [[Any]] else {
            Issue.record("no result: \(String(decoding: out.stdout, as: UTF8.self)) \(out.stderr)")
            return
        }
        #expect(mails.map { $0[0] as? Int } == [250, 250, 250, 451])
        #expect(mails.last?[1] as? String == "4.7.1 Sending rate exceeded (messagesPerDay limit 3 of tenant/acme reached), try later")
    }
}
