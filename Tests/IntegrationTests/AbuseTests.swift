import Foundation
import Testing

/// Abuse paths of issue 13 through the real binary: pipelined input while an enqueue is pending,
/// AUTH floods, per-client connection counting, mail loops (hop count) and relay-port recipients.
@Suite("Abuse limits through the real binary", .serialized)
struct AbuseTests {
    /// A node whose cluster has two members that never answer: it cannot commit, so every enqueue
    /// stays pending for the proposal timeout (5 s) and then gets `451 4.3.0`.
    static func nodeWithoutQuorum() throws -> RelayProcess {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-abuse-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let secret = dir + "/cluster.key"
        try "abuse-test-secret-\(UUID().uuidString)".write(toFile: secret, atomically: true, encoding: .utf8)
        // Port 9 (discard) on loopback: nothing listens, connections are refused at once.
        let overlay: [String: Any] = [
            "node": ["id": "n1"],
            "listen": ["peer": "127.0.0.1:0"],
            "cluster": ["peers": [["id": "n2", "address": "127.0.0.1:9"], ["id": "n3", "address": "127.0.0.1:9"]],
                        "secretFile": secret],
        ]
        let relay = try RelayProcess(overlay: overlay)
        // The node read the secret when it started; the directory has done its job.
        try? FileManager.default.removeItem(atPath: dir)
        return relay
    }

    @Test("a client pipelining 8 MB while its enqueue is pending: the node holds at most a few 64 KiB steps of it (bodyMemory in /health), then answers 451 and reads on")
    func pipelinedInputWhileEnqueuePending() throws {
        let relay = try Self.nodeWithoutQuorum()
        defer { relay.cleanUp() }
        // The client sends a message, then 8 MB of NOOP lines without waiting for the reply to its
        // end of data. While no reply has come (the enqueue is pending), it samples the node's
        // bodyMemory.inUseBytes; the writer thread counts what the socket took.
        let script = """
        import json, socket, sys, threading, time, urllib.request
        host, port, admin, token = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
        def health():
            req = urllib.request.Request("http://127.0.0.1:%d/health" % admin, headers={"Authorization": "Bearer " + token})
            try:
                body = urllib.request.urlopen(req, timeout=10).read()
            except urllib.error.HTTPError as e:
                body = e.read()
            return json.loads(body)["bodyMemory"]["inUseBytes"]
        s = socket.create_connection((host, port), timeout=60)
        f = s.makefile("rb")
        def reply():
            lines = []
            while True:
                line = f.readline().decode()
                lines.append(line.strip())
                if len(line) < 4 or line[3] != "-":
                    return lines
        reply()
        for cmd in ["EHLO c.test", "MAIL FROM:<a@example.com>", "RCPT TO:<b@local.test>", "DATA"]:
            s.sendall((cmd + "\\r\\n").encode()); reply()
        s.sendall(b"Subject: x\\r\\n\\r\\nbody\\r\\n.\\r\\n")
        flood = b"NOOP\\r\\n" * (8 * 1024 * 1024 // 6)
        sent = [0]
        def writer():
            view = memoryview(flood)
            try:
                while sent[0] < len(flood):
                    n = s.send(view[sent[0]:sent[0] + 65536])
                    sent[0] += n
            except OSError:
                pass
        t = threading.Thread(target=writer, daemon=True); t.start()
        replied = [None]
        def reader():
            replied[0] = reply()
        r = threading.Thread(target=reader, daemon=True); r.start()
        peak = 0; samples = 0; sent_while_pending = 0
        while replied[0] is None:
            v = health()
            if replied[0] is None:
                peak = max(peak, v); samples += 1; sent_while_pending = sent[0]
            time.sleep(0.05)
        print(json.dumps({"peak": peak, "samples": samples, "sentWhilePending": sent_while_pending,
                          "reply": replied[0]}))
        """
        let out = try python(script, ["127.0.0.1", String(relay.port("relay")), String(relay.port("admin")), relay.adminToken])
        let text = String(decoding: out.stdout, as: UTF8.self)
        let result = try #require(try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                                  "\(text) \(out.stderr) \(relay.log().suffix(3000))")
        let peak = result["peak"] as? Int ?? -1
        let sent = result["sentWhilePending"] as? Int ?? 0
        let reply = (result["reply"] as? [String])?.first ?? ""
        // The enqueue really was pending: the end of data got 451 (no quorum), not 250.
        #expect(reply.hasPrefix("451 4.3.0"), "\(text)")
        #expect((result["samples"] as? Int ?? 0) >= 3, "\(text)")
        // The client got well past the cap into TCP buffers, but the node holds at most the body's
        // 64 KiB step plus the pending-input cap (64 KiB) and the read that crossed it, in 64 KiB steps.
        #expect(sent > 512 * 1024, "\(text)")
        #expect(peak >= 64 * 1024 && peak <= 4 * 64 * 1024, "\(text)")
    }

    @Test("an AUTH flood beyond the verification pool and its queue gets 454 4.7.0 for some attempts while EHLO/NOOP on another connection is answered and a good login still works")
    func authFloodIsBounded() throws {
        let relay = try RelayProcess(overlay: ["limits": ["maxPendingAuth": 1],
                                               "policy": ["maxAuthFailuresPerIP": 1000]])
        defer { relay.cleanUp() }
        let script = """
        import base64, json, smtplib, ssl, sys, threading
        host, port, sub = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
        n = 24
        barrier = threading.Barrier(n + 1)
        codes = [None] * n
        def attempt(i):
            s = smtplib.SMTP_SSL(host, port, context=ctx, timeout=60); s.ehlo("flood.test")
            barrier.wait()
            cred = base64.b64encode(("\\0alice\\0wrong-%d" % i).encode()).decode()
            codes[i] = s.docmd("AUTH", "PLAIN " + cred)[0]
            s.close()
        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
        for t in threads: t.start()
        other = smtplib.SMTP(host, sub, timeout=30)
        barrier.wait()
        ehlo = other.ehlo("other.test")[0]
        noop = other.noop()[0]
        for t in threads: t.join()
        other.quit()
        good = smtplib.SMTP_SSL(host, port, context=ctx, timeout=60); good.ehlo("good.test")
        login = good.login("alice", "s3cret-pass")[0]
        good.quit()
        print(json.dumps({"codes": codes, "ehlo": ehlo, "noop": noop, "login": login}))
        """
        let out = try python(script, ["127.0.0.1", String(relay.port("smtps")), String(relay.port("submission"))])
        let text = String(decoding: out.stdout, as: UTF8.self)
        let result = try #require(try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                                  "\(text) \(out.stderr)")
        let codes = result["codes"] as? [Int] ?? []
        #expect(codes.count == 24)
        #expect(codes.allSatisfy { $0 == 454 || $0 == 535 }, "\(codes)")
        #expect(codes.contains(454), "no attempt was refused: \(codes)")
        #expect(codes.contains(535), "no attempt was checked: \(codes)")
        #expect(result["ehlo"] as? Int == 250 && result["noop"] as? Int == 250, "\(text)")
        #expect(result["login"] as? Int == 235, "\(text)")
        let refusals = relay.log().components(separatedBy: "\"auth overloaded\"").count - 1
        #expect(refusals == codes.filter { $0 == 454 }.count, "\(refusals) logged for \(codes)")
    }

    @Test("connection limit: IPv4 clients count per address (127.0.0.2 is not charged for 127.0.0.1's connections)")
    func connectionLimitPerIPv4Address() throws {
        let relay = try RelayProcess(overlay: ["policy": ["maxConnectionsPerIP": 2, "ipv6PrefixLength": 48]])
        defer { relay.cleanUp() }
        let script = """
        import socket, sys
        host, port = sys.argv[1], int(sys.argv[2])
        def connect(src):
            s = socket.create_connection((host, port), timeout=10, source_address=(src, 0))
            return s, s.recv(200).decode().strip()
        a = [connect("127.0.0.1") for _ in range(2)]
        b, greeting_b = connect("127.0.0.2")
        c, greeting_c = connect("127.0.0.1")
        print([g[:9] for _, g in a], greeting_b[:9], greeting_c[:9])
        """
        let out = try python(script, ["127.0.0.1", String(relay.port("relay"))])
        let text = String(decoding: out.stdout, as: UTF8.self)
        #expect(text.contains("['220 relay', '220 relay'] 220 relay 421 4.7.0"), "\(text) \(out.stderr)")
    }

    @Test("hop count: a message with 100 Received fields is queued, with 101 it gets 554 5.4.6 at end of data")
    func hopCount() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let script = """
        import smtplib, sys
        host, port = sys.argv[1], int(sys.argv[2])
        def send(hops):
            received = "".join("Received: from hop%d.example by hop%d.example; Sun, 29 Nov 2026 09:47:19 +0000\\r\\n" % (i, i + 1)
                               for i in range(hops))
            msg = received + "Subject: loop %d\\r\\n\\r\\nbody\\r\\n" % hops
            s = smtplib.SMTP(host, port, timeout=30); s.ehlo("loop.test")
            s.mail("a@example.com"); s.rcpt("b@local.test")
            code, text = s.data(msg.encode())
            s.quit()
            return "%d %s" % (code, text.decode())
        for hops in (100, 101):
            try:
                print(hops, send(hops))
            except smtplib.SMTPDataError as e:
                print(hops, e.smtp_code, e.smtp_error.decode())
        """
        let out = try python(script, ["127.0.0.1", String(relay.port("relay"))])
        let text = String(decoding: out.stdout, as: UTF8.self)
        #expect(text.contains("100 250 2.0.0 OK: queued as"), "\(text) \(out.stderr)")
        #expect(text.contains("101 554 5.4.6 Too many hops"), "\(text)")
        let queue = try relay.adminJSON("/v1/queue")
        #expect((queue["messages"] as? [[String: Any]] ?? []).count == 1)
    }

    @Test("bounces of unauthenticated relay-port mail carry its headers only, even with RET=FULL; authenticated mail with RET=FULL gets its full body back")
    func unauthenticatedBounceIsHeadersOnly() throws {
        let rejecting = try SinkProcess(flags: ["-f", "RCPT", "-B", "550 5.1.1 No such user"])
        defer { rejecting.stop() }
        let senders = try SinkProcess()
        defer { senders.stop() }
        let relay = try RelayProcess(overlay: [
            "delivery": ["enabled": true],
            "policy": ["localDomains": ["sink.test"]],
            "routes": [["domain": "sink.test", "hosts": ["127.0.0.1:\(rejecting.port)"], "tls": "none"],
                       ["domain": "origin.test", "hosts": ["127.0.0.1:\(senders.port)"], "tls": "none"]],
        ])
        defer { relay.cleanUp() }
        let script = """
        import smtplib, ssl, sys
        host, relay_port, sub_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        def msg(tag):
            return ("From: %s@origin.test\\r\\nSubject: bounce-%s\\r\\n\\r\\nsecret body of %s\\r\\n" % (tag, tag, tag)).encode()
        s = smtplib.SMTP(host, relay_port, timeout=30); s.ehlo("mx.forger.test")
        s.sendmail("unauth@origin.test", ["gone@sink.test"], msg("unauth"), mail_options=["RET=FULL"], rcpt_options=["NOTIFY=FAILURE"])
        s.quit()
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
        s = smtplib.SMTP(host, sub_port, timeout=30); s.ehlo("c.test"); s.starttls(context=ctx); s.ehlo("c.test")
        s.login("alice", "s3cret-pass")
        s.sendmail("auth@origin.test", ["gone@sink.test"], msg("auth"), mail_options=["RET=FULL"], rcpt_options=["NOTIFY=FAILURE"])
        s.quit()
        print("sent")
        """
        let out = try python(script, ["127.0.0.1", String(relay.port("relay")), String(relay.port("submission"))])
        #expect(String(decoding: out.stdout, as: UTF8.self).contains("sent"), "\(out.stderr)")
        let deadline = Date().addingTimeInterval(30)
        while senders.messages.count < 2 && Date() < deadline { usleep(100_000) }
        let bounces = senders.messages
        #expect(bounces.count == 2, "\(relay.log().suffix(3000))")
        let unauth = try #require(bounces.first { $0.contains("Subject: bounce-unauth") })
        let auth = try #require(bounces.first { $0.contains("Subject: bounce-auth") })
        #expect(unauth.contains("Content-Type: text/rfc822-headers"))
        #expect(!unauth.contains("secret body of unauth"))
        #expect(auth.contains("Content-Type: message/rfc822"))
        #expect(auth.contains("secret body of auth"))
    }

    @Test("over TLS, 300 KB pipelined behind a pending AUTH check (paused reading) are all read and answered once the check is done")
    func pipelinedBehindAuthOverTLSResumes() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let script = """
        import base64, json, socket, ssl, sys, threading
        host, port = sys.argv[1], int(sys.argv[2])
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(socket.create_connection((host, port), timeout=60))
        f = s.makefile("rb")
        def reply():
            while True:
                line = f.readline().decode()
                if len(line) < 4 or line[3] != "-":
                    return line.strip()
        reply()
        s.sendall(b"EHLO c.test\\r\\n"); reply()
        # 700 NOOPs of 427 bytes (about 300 KB): their replies (10 KB) fit in the socket buffers, so
        # one thread sends everything, then reads (an SSL socket must not be read and written by
        # two threads at once).
        n = 700
        cred = base64.b64encode(b"\\0alice\\0wrong-password").decode()
        payload = ("AUTH PLAIN %s\\r\\n" % cred).encode() + (b"NOOP " + b"x" * 420 + b"\\r\\n") * n
        s.sendall(payload)
        first = reply()
        noops = 0
        for _ in range(n):
            if reply().startswith("250"):
                noops += 1
        print(json.dumps({"auth": first, "noops": noops}))
        """
        let out = try python(script, ["127.0.0.1", String(relay.port("smtps"))])
        let text = String(decoding: out.stdout, as: UTF8.self)
        let result = try #require(try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                                  "\(text) \(out.stderr)")
        #expect((result["auth"] as? String ?? "").hasPrefix("535 5.7.8"), "\(text)")
        #expect(result["noops"] as? Int == 700, "\(text)")
    }
}
