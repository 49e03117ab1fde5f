import Foundation
import Testing
import TestSupport

/// Crash-safety and lifecycle tests against the real binary.
@Suite("Durability and lifecycle", .serialized)
struct DurabilityTests {
    /// Many concurrent clients each send messages with a unique marker; prints one JSON line per
    /// 250 with the queue id and the exact bytes' SHA-256.
    static let loadScript = """
    import socket, sys, threading, hashlib, json, time
    host, port, threads, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    lock = threading.Lock()
    def reply(f):
        while True:
            l = f.readline()
            if not l: raise EOFError
            if l[3:4] != b"-": return l
    def worker(t):
        try:
            s = socket.create_connection((host, port), timeout=30); f = s.makefile("rb")
            reply(f); s.sendall(b"EHLO load.test\\r\\n"); reply(f)
            for i in range(per):
                body = (f"Subject: m {t}-{i}\\r\\nX-Marker: {t}-{i}\\r\\n\\r\\n" + ("payload %d-%d\\r\\n" % (t, i)) * 40).encode()
                s.sendall(b"MAIL FROM:<l@remote.test>\\r\\nRCPT TO:<r@local.test>\\r\\nDATA\\r\\n")
                reply(f); reply(f); reply(f)
                s.sendall(body + b".\\r\\n")
                r = reply(f).decode()
                if r.startswith("250"):
                    qid = r.strip().rsplit(" ", 1)[-1]
                    with lock:
                        print(json.dumps({"id": qid, "marker": f"{t}-{i}", "sha": hashlib.sha256(body).hexdigest()}), flush=True)
        except Exception as e:
            pass
    ts = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    [t.start() for t in ts]; [t.join() for t in ts]
    """

    @Test("kill -9 mid-load: every message that got 250 is in the queue after restart with its exact bytes")
    func killNineKeepsAcknowledgedMail() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let (host, port) = relay.address("relay")
        // Start the load, kill the node while it runs.
        // Output to a file, not a pipe (see `run`): concurrent spawns can leak pipe ends.
        let outPath = relay.directory + "/load.out"
        let p = try ChildProcess("/usr/bin/python3", ["-c", Self.loadScript, host, String(port), "16", "400"],
                                 stdoutPath: outPath)
        // Wait until at least some messages were acknowledged (or the load ended), then SIGKILL.
        // Hang guards, not a speed check: 60 s without a new acceptance, 300 s in all.
        let hangGuard = Date().addingTimeInterval(300)
        var seen = 0
        var deadline = Date().addingTimeInterval(60)
        while Date() < deadline, Date() < hangGuard, p.isRunning {
            let n = (try? relay.events("type=accepted&limit=300").count) ?? 0
            if n >= 200 { break }
            if n > seen {
                seen = n
                deadline = Date().addingTimeInterval(60)
            }
            usleep(20_000)
        }
        relay.kill9()
        p.wait(timeout: 120)
        let lines = String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self)
            .split(separator: "\n")
        let acked = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
        #expect(acked.count >= 200, "acknowledged only \(acked.count)")
        try relay.launch()
        // One checker process fetches every acknowledged body over keep-alive HTTP: the stored
        // bytes must be our Received header followed by exactly what the client sent.
        let checker = """
        import http.client, json, sys, hashlib
        host, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        acked = [json.loads(l) for l in open(sys.argv[4]) if l.strip()]
        c = http.client.HTTPConnection(host, port, timeout=30); bad = []
        for a in acked:
            c.request("GET", "/v1/queue/%s/body" % a["id"], headers={"Authorization": "Bearer " + token})
            r = c.getresponse(); body = r.read()
            i = body.find(("Subject: m %s\\r\\n" % a["marker"]).encode())
            if r.status != 200 or i < 0 or hashlib.sha256(body[i:]).hexdigest() != a["sha"]:
                bad.append(a["id"])
        print(json.dumps({"checked": len(acked), "bad": bad}))
        """
        let (adminHost, adminPort) = relay.address("admin")
        let check = try python(checker, [adminHost, String(adminPort), relay.adminToken, outPath])
        let result = (try? JSONSerialization.jsonObject(with: check.stdout) as? [String: Any]) ?? [:]
        #expect(result["checked"] as? Int == acked.count, "\(check.stderr)")
        #expect((result["bad"] as? [String])?.isEmpty == true, "lost or altered: \(result["bad"] ?? "?")")
    }

    @Test("SIGTERM drains: a session in progress finishes its message before the node exits")
    func gracefulShutdown() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let script = """
        import socket, sys, os, signal, time
        host, port, pid, logpath = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
        s = socket.create_connection((host, port), timeout=30); f = s.makefile("rb")
        def reply():
            while True:
                l = f.readline()
                if l[3:4] != b"-": return l.decode().strip()
        reply(); s.sendall(b"EHLO c.test\\r\\n"); reply()
        s.sendall(b"MAIL FROM:<a@remote.test>\\r\\nRCPT TO:<b@local.test>\\r\\nDATA\\r\\n"); reply(); reply(); reply()
        os.kill(pid, signal.SIGTERM)
        # Wait for the node to have started draining (its log line), not for a fixed time.
        deadline = time.time() + 30
        logged = False
        while not logged and time.time() < deadline:
            logged = '"phase":"draining"' in open(logpath).read()
            if not logged: time.sleep(0.02)
        print("drain-logged", logged)
        # The listeners close on their loops right after that line. A new connection must then be
        # refused or turned away: probe until it is (the open session keeps the node draining).
        result = "new-connection none"
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                c = socket.create_connection((host, port), timeout=5)
                try:
                    result = "new-connection " + repr(c.recv(100))
                finally:
                    c.close()
            except OSError:
                result = "new-connection refused"
            if not result.startswith("new-connection b'220"): break
            time.sleep(0.05)
        print(result)
        s.sendall(b"Subject: drain\\r\\n\\r\\nbody\\r\\n.\\r\\n"); print("data", reply())
        s.sendall(b"QUIT\\r\\n"); print("quit", reply())
        """
        let out = try python(script, ["127.0.0.1", String(relay.port("relay")), String(relay.process.pid), relay.stderrPath])
        let text = String(decoding: out.stdout, as: UTF8.self)
        #expect(text.contains("drain-logged True"), "\(text) \(out.stderr)")
        #expect(text.contains("data 250 2.0.0 OK: queued as"), "\(text) \(out.stderr)")
        #expect(text.contains("quit 221"))
        #expect(text.contains("new-connection refused") || text.contains("new-connection b'421"), "\(text)")
        #expect(!text.contains("new-connection b'220"))
        #expect(relay.process.wait(timeout: 60) == 0)
        try relay.launch()
        #expect(try relay.events("type=accepted").count == 1)
    }

    @Test("SMTP smuggling through the real server: a bare-LF/CR end-of-data is rejected as one message (550 5.6.0), never split into two, and the session goes on")
    func smugglingEndToEnd() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        // Per variant one connection: the smuggling payload (its first message carries the bare line
        // ending, the "smuggled" one follows the fake end-of-data), then a clean message on the same
        // session, then QUIT. Prints the variant and every reply line, separated by '|'.
        let script = """
        import socket, sys
        host, port = sys.argv[1], int(sys.argv[2])
        variants = [b"\\n.\\n", b"\\n.\\r\\n", b"\\r\\n.\\n", b"\\r.\\r", b"\\r\\n.\\r", b"\\r.\\r\\n"]
        for v in variants:
            s = socket.create_connection((host, port), timeout=30); f = s.makefile("rb")
            def reply():
                while True:
                    l = f.readline()
                    if not l: return "EOF"
                    if l[3:4] != b"-": return l.decode().strip()
            replies = [reply()]
            s.sendall(b"EHLO c.test\\r\\n"); replies.append(reply())
            payload = (b"MAIL FROM:<a@remote.test>\\r\\nRCPT TO:<b@local.test>\\r\\nDATA\\r\\n" +
                       b"Subject: first\\r\\n\\r\\nhello" + v +
                       b"MAIL FROM:<evil@remote.test>\\r\\nRCPT TO:<victim@local.test>\\r\\nDATA\\r\\nSubject: smuggled\\r\\n\\r\\nx\\r\\n.\\r\\n")
            s.sendall(payload)
            replies += [reply(), reply(), reply(), reply()]
            s.sendall(b"MAIL FROM:<good@remote.test>\\r\\n"); replies.append(reply())
            s.sendall(b"RCPT TO:<legit@local.test>\\r\\n"); replies.append(reply())
            s.sendall(b"DATA\\r\\n"); replies.append(reply())
            s.sendall(b"Subject: legit\\r\\n\\r\\nclean body\\r\\n.\\r\\n"); replies.append(reply())
            s.sendall(b"QUIT\\r\\n"); replies.append(reply())
            print(repr(v) + "|" + "|".join(replies))
            s.close()
        """
        let out = try python(script, ["127.0.0.1", String(relay.port("relay"))])
        let text = String(decoding: out.stdout, as: UTF8.self)
        #expect(out.status == 0, "\(out.stderr)")
        let lines = text.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
        #expect(lines.count == 6, "\(text)")
        for fields in lines {
            let variant = fields.first ?? "?"
            let codes = fields.dropFirst().map { String($0.prefix(3)) }
            // banner, EHLO | MAIL, RCPT, DATA, end of the one (rejected) message | clean MAIL, RCPT, DATA, end | QUIT
            #expect(codes == ["220", "250", "250", "250", "354", "550", "250", "250", "354", "250", "221"],
                    "variant \(variant): \(fields)")
            #expect(fields.count > 6 && fields[6].hasPrefix("550 5.6.0"), "variant \(variant): \(fields)")
        }
        let accepted = try relay.events("type=accepted&limit=100")
        let recipients = accepted.compactMap { $0["recipient"] as? String }
        #expect(!recipients.contains("victim@local.test"), "a smuggled message was accepted: \(text)")
        #expect(!recipients.contains("b@local.test"), "a message with a bare line ending was accepted: \(text)")
        #expect(recipients.filter { $0 == "legit@local.test" }.count == 6, "\(recipients)")
    }

    @Test("check-config explains every problem and exits 1; a good file exits 0")
    func checkConfig() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-cc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #"{"listen": {"submission": ["0.0.0.0:99999"]}, "limits": {"maxMessageSize": -1}, "bogus": 1}"#
            .write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        let bad = try run(RelayProcess.binary, ["check-config", dir + "/bad.json"])
        let text = String(decoding: bad.stdout, as: UTF8.self)
        #expect(bad.status == 1)
        #expect(text.contains("listen.submission[0]"))
        #expect(text.contains("bogus"))
        try #"{"limits": {"maxMessageSize": -1}, "adminToken": "0123456789abcdef0123"}"#
            .write(toFile: dir + "/range.json", atomically: true, encoding: .utf8)
        let range = try run(RelayProcess.binary, ["check-config", dir + "/range.json"])
        #expect(range.status == 1)
        #expect(String(decoding: range.stdout, as: UTF8.self).contains("error: limits.maxMessageSize: -1 is out of range"))
        try #"{"node": {"id": "ok1", "dataDir": "/tmp/x"}, "adminToken": "t"}"#.write(toFile: dir + "/good.json", atomically: true, encoding: .utf8)
        let good = try run(RelayProcess.binary, ["check-config", dir + "/good.json"])
        #expect(good.status == 0, "\(String(decoding: good.stdout, as: UTF8.self))")
    }

    @Test("SIGUSR1 (snapshot install) restarts the node in place: same pid, queue intact, accepting again")
    func restartInPlace() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        _ = try AdminTests.queueOne(relay)
        try? FileManager.default.removeItem(atPath: relay.dataDir + "/listen.json")
        relay.process.signal(SIGUSR1)
        var restarted = false
        for _ in 0..<1500 { // 30 s, as RelayProcess.launch allows for a start
            if FileManager.default.fileExists(atPath: relay.dataDir + "/listen.json") { restarted = true; break }
            usleep(20_000)
        }
        #expect(restarted, "\(relay.log().suffix(1500))")
        #expect(relay.process.isRunning)
        let listen = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: relay.dataDir + "/listen.json"))) as? [String: Any] ?? [:]
        relay.ports = listen
        #expect(relay.log().contains("restarting to install the spool snapshot"))
        #expect(try relay.adminJSON("/health")["queue"] as? Int == 1)
        _ = try AdminTests.queueOne(relay)
        #expect(try relay.adminJSON("/health")["queue"] as? Int == 2)
    }

    @Test("SIGUSR1 (snapshot install) gives an open session 421 at once instead of draining it for 30 s, then restarts")
    func restartInPlaceClosesSessions() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let (host, port) = relay.address("relay")
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        // Reads what the node sends until `marker` shows up, EOF, or 20 s without data (the old
        // drain held an idle session for 30 s before its 421).
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        func read(until marker: String) -> String {
            var text = ""
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !text.contains(marker) {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                text += String(decoding: buffer[0..<n], as: UTF8.self)
            }
            return text
        }
        #expect(read(until: "\r\n").hasPrefix("220"))
        _ = "EHLO idle.example\r\n".withCString { send(fd, $0, strlen($0), 0) }
        #expect(read(until: "250 ").contains("250 "))
        try? FileManager.default.removeItem(atPath: relay.dataDir + "/listen.json")
        relay.process.signal(SIGUSR1)
        let closing = read(until: "421")
        #expect(closing.contains("421"), "the idle session got no 421 within 20 s: \(closing)")
        var restarted = false
        for _ in 0..<1500 where !restarted {
            restarted = FileManager.default.fileExists(atPath: relay.dataDir + "/listen.json")
            if !restarted { usleep(20_000) }
        }
        #expect(restarted, "\(relay.log().suffix(1500))")
        #expect(relay.log().contains(#""phase":"draining","drainSeconds":"0""#), "\(relay.log().suffix(1500))")
        relay.ports = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: relay.dataDir + "/listen.json"))) as? [String: Any] ?? [:]
        _ = try AdminTests.queueOne(relay)
        #expect(try relay.adminJSON("/health")["queue"] as? Int == 1)
    }
}
