import Foundation
import Testing
import TestSupport

/// Three real `sendarix serve` processes forming a Raft cluster on 127.0.3.1-3 (peer port 7700 on
/// each; SMTP and admin on port 0), loaded over SMTP by retrying clients while the leader is
/// SIGKILLed and restarted. Every message that got a 250 must be in the queue of every node.
@Suite("Raft cluster of real nodes", .serialized)
struct ClusterRaftTests {
    static let ips = ["127.0.3.1", "127.0.3.2", "127.0.3.3"]

    /// Starts the three nodes (on `ips`) with a shared cluster secret.
    static func startCluster(_ dir: String, ips: [String] = ClusterRaftTests.ips, extra: [String: Any] = [:],
                             environment: [String: String]? = nil) throws -> [RelayProcess] {
        let secret = dir + "/cluster.key"
        try "raft-integration-secret-\(UUID().uuidString)".write(toFile: secret, atomically: true, encoding: .utf8)
        var nodes: [RelayProcess] = []
        for i in 0..<3 {
            let peers = (0..<3).filter { $0 != i }.map { j -> [String: Any] in
                ["id": "n\(j + 1)", "address": "\(ips[j]):7700"]
            }
            let overlay: [String: Any] = [
                "node": ["id": "n\(i + 1)"],
                "listen": ["peer": "\(ips[i]):7700", "submission": ["\(ips[i]):0"], "smtps": [], "relay": []],
                "cluster": ["peers": peers, "secretFile": secret],
            ]
            nodes.append(try RelayProcess(overlay: RelayProcess.merge(overlay, extra), environment: environment))
        }
        return nodes
    }

    /// The node whose latest `raft role` log line says leader, with the highest term.
    static func leader(_ nodes: [RelayProcess]) -> Int? {
        var best: (term: Int, index: Int)?
        for (i, n) in nodes.enumerated() where n.process.isRunning {
            let lines = n.log().split(separator: "\n").reversed()
            for line in lines where line.contains("\"raft role\"") {
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { break }
                if obj["role"] as? String == "leader", let t = Int(obj["term"] as? String ?? "") {
                    if best == nil || t > best!.term { best = (t, i) }
                }
                break
            }
        }
        return best?.index
    }

    static func waitFor(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try condition() { return true }
            usleep(100_000)
        }
        return try condition()
    }

    /// Waits until `done` holds while `progress` keeps growing: false after `stall` seconds without
    /// a new value (counted from the call, then from the last new value) or `hangGuard` seconds
    /// after `since`. For work whose pace depends on the machine: a hang guard, not a speed check.
    static func waitWhileProgressing(stall: Double, hangGuard: Double, since start: Date = Date(), progress: () -> Int,
                                     _ done: () throws -> Bool) rethrows -> Bool {
        var last = progress(), lastAt = Date()
        while try !done() {
            let now = Date()
            let value = progress()
            if value > last { (last, lastAt) = (value, now) }
            if now.timeIntervalSince(lastAt) >= stall || now.timeIntervalSince(start) >= hangGuard { return try done() }
            usleep(100_000)
        }
        return true
    }

    /// Retrying SMTP clients: each message is retried (new session) on 4xx or connection loss until
    /// it gets a 250. Writes progress (accepted count, after each acceptance, replaced atomically) to
    /// argv[2] and the results JSON to argv[3].
    static let client = #"""
    import json, os, smtplib, ssl, sys, threading, time, uuid
    targets = json.loads(sys.argv[1]); progress_path = sys.argv[2]; out_path = sys.argv[3]
    threads, per = int(sys.argv[4]), int(sys.argv[5])
    lock = threading.Lock(); accepted = []; retries = [0]; failures = []
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    body = ("x" * 76 + "\r\n") * 64  # about 5 KB
    def session(host, port):
        s = smtplib.SMTP(host, port, timeout=15); s.ehlo("client.test"); s.starttls(context=ctx)
        s.ehlo("client.test"); s.login("alice", "s3cret-pass"); return s
    def worker(w):
        s = None; k = 0
        for i in range(per):
            token = f"w{w}-m{i}"
            deadline = time.time() + 120
            while time.time() < deadline:
                host, port = targets[(w + k) % len(targets)]
                try:
                    if s is None: s = session(host, port)
                    s.mail("sender@example.com"); s.rcpt("rcpt@local.test")
                    code, resp = s.data(f"Subject: {token}\r\nMessage-ID: <{token}@client.test>\r\n\r\n{body}")
                    if code == 250:
                        qid = resp.decode().split()[-1]
                        with lock:
                            accepted.append({"token": token, "queueId": qid})
                            open(progress_path + ".tmp", "w").write(str(len(accepted)))
                            os.replace(progress_path + ".tmp", progress_path)
                        break
                    if code >= 500:
                        with lock: failures.append(f"{token}: {code} {resp!r}")
                        break
                    with lock: retries[0] += 1
                    try: s.rset()
                    except Exception: s = None
                except Exception:
                    with lock: retries[0] += 1
                    s = None; k += 1; time.sleep(0.2)
            else:
                with lock: failures.append(token)
        if s is not None:
            try: s.quit()
            except Exception: pass
    ts = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    [t.start() for t in ts]; [t.join() for t in ts]
    json.dump({"accepted": accepted, "retries": retries[0], "failures": failures}, open(out_path, "w"))
    """#

    /// Checks that every queue ID exists on a node (admin API, one keep-alive connection); prints
    /// the missing count and the node's queue size.
    static let checker = #"""
    import http.client, json, sys
    host, port, token, ids = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.load(open(sys.argv[4]))
    c = http.client.HTTPConnection(host, port, timeout=10); missing = 0
    for q in ids:
        c.request("GET", "/v1/queue/" + q, headers={"Authorization": "Bearer " + token})
        r = c.getresponse(); r.read()
        if r.status != 200: missing += 1
    c.request("GET", "/v1/queue?limit=1", headers={"Authorization": "Bearer " + token})
    r = c.getresponse(); total = json.loads(r.read()).get("count", -1)
    print(json.dumps({"missing": missing, "count": total}))
    """#

    @Test("SIGKILL of the leader under SMTP load: every 250'd message is on every node afterwards")
    func leaderKillUnderLoad() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-raft-it-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let nodes = try Self.startCluster(dir)
        defer {
            for n in nodes { n.cleanUp() }
            try? FileManager.default.removeItem(atPath: dir)
        }
        #expect(Self.waitFor(60) { Self.leader(nodes) != nil }, "no leader: \(nodes.map { $0.log().suffix(600) })")
        let targets = nodes.map { n -> [Any] in let a = n.address("submission"); return [a.0, a.1] }
        let progress = dir + "/progress", results = dir + "/results.json"
        let threads = 20, per = 60
        let targetsJSON = String(decoding: try JSONSerialization.data(withJSONObject: targets), as: UTF8.self)
        let load = try ChildProcess("/usr/bin/python3", ["-c", Self.client, targetsJSON, progress, results,
                                                         "\(threads)", "\(per)"], stderrPath: dir + "/client.err")
        let loadStarted = Date()

        // Mid-load: SIGKILL the leader, measure until the cluster accepts again, restart it.
        let accepted = { Int((try? String(contentsOfFile: progress, encoding: .utf8)) ?? "") ?? 0 }
        // The pace depends on the machine: the waits end after a stall of new acceptances, or 900 s
        // after the load started (hang guards), never after a fixed time from the start.
        #expect(Self.waitWhileProgressing(stall: 60, hangGuard: 900, since: loadStarted, progress: accepted) {
            accepted() >= threads * per / 3 || !load.isRunning
        })
        #expect(accepted() >= threads * per / 3)
        let victim = try #require(Self.leader(nodes))
        let before = accepted()
        let killedAt = Date()
        nodes[victim].kill9()
        // The cluster accepts again: no acceptance within 30 s of the kill (the old limit for all of
        // them), or none for 30 s between two later ones, fails; a slow machine may take longer for 50.
        #expect(Self.waitWhileProgressing(stall: 30, hangGuard: 900, since: loadStarted, progress: accepted) {
            accepted() > before + 50
        })
        print(String(format: "raft cluster: 50+ accepted again %.2f s after SIGKILL of the leader", Date().timeIntervalSince(killedAt)))
        try nodes[victim].launch()
        // Until the client ends by itself (it writes its results then): 150 s without a new
        // acceptance (more than a message's 120 s of retries) or 900 s in all end it as stuck.
        let ended = Self.waitWhileProgressing(stall: 150, hangGuard: 900, since: loadStarted, progress: accepted) {
            !load.isRunning
        }
        let clientErr = (try? String(contentsOfFile: dir + "/client.err", encoding: .utf8)) ?? ""
        guard ended else {
            load.signal(SIGKILL)
            _ = load.wait()
            Issue.record("load client stuck at \(accepted()) accepted: \(clientErr)")
            return
        }
        if load.wait() != 0 { Issue.record("load client: \(clientErr)") }
        let out = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: results))) as! [String: Any]
        let acked = (out["accepted"] as! [[String: String]]).map { $0["queueId"]! }
        let failures = out["failures"] as! [String]
        print("raft cluster: \(acked.count) accepted, \(out["retries"]!) retried attempts, \(failures.count) gave up")
        #expect(failures.isEmpty)
        #expect(acked.count == threads * per)
        let idsPath = dir + "/ids.json"
        try JSONSerialization.data(withJSONObject: acked).write(to: URL(fileURLWithPath: idsPath))
        for (i, n) in nodes.enumerated() {
            let (host, port) = n.address("admin")
            var last = ""
            // A hang guard (each poll GETs all 1200 queue IDs): returns as soon as none is missing.
            let ok = try Self.waitFor(120) {
                let r = try python(Self.checker, [host, "\(port)", n.adminToken, idsPath], timeout: 120)
                last = String(decoding: r.stdout, as: UTF8.self)
                return last.contains("\"missing\": 0,")
            }
            #expect(ok, "node n\(i + 1): \(last)")
            if let obj = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any],
               let count = obj["count"] as? Int {
                print("raft cluster: node n\(i + 1) holds \(count) messages; duplicates (accepted without a 250): \(count - acked.count)")
            }
        }
    }
}
