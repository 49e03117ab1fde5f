import Foundation
import Testing
import TestSupport

/// Restoring a cluster member from a backup: the member restarts from the copy, rejoins under its
/// id and catches up from the leader on what was committed after the backup; with
/// `$NOTIFY_SOCKET` set it reports READY=1 only once caught up. Nodes on 127.50.0.1-3.
@Suite("Backup and restore of a cluster member", .serialized)
struct BackupClusterTests {
    static let ips = ["127.50.0.1", "127.50.0.2", "127.50.0.3"]

    /// Submits `count` messages (tokens `prefix-i`) to `node`'s submission port, retrying on 4xx
    /// while the cluster settles; returns the queue ids.
    static func submit(_ node: RelayProcess, prefix: String, count: Int) throws -> [String] {
        let script = """
        import smtplib, ssl, sys, time
        host, port, prefix, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
        s = None
        for i in range(n):
            deadline = time.time() + 60
            while True:
                try:
                    if s is None:
                        s = smtplib.SMTP(host, port, timeout=15); s.ehlo("c.test"); s.starttls(context=ctx); s.ehlo("c.test")
                        s.login("alice", "s3cret-pass")
                    s.mail("a@example.com"); s.rcpt("r%d@local.test" % i)
                    code, resp = s.data("Subject: %s-%d\\r\\n\\r\\nbody %s %d\\r\\n" % (prefix, i, prefix, i))
                    if code == 250:
                        print(resp.decode().split()[-1], flush=True); break
                    s.rset()
                except Exception as e:
                    s = None
                    if time.time() > deadline: raise
                if time.time() > deadline: raise SystemExit("no 250 for %s-%d" % (prefix, i))
                time.sleep(0.3)
        if s is not None: s.quit()
        """
        let (host, port) = node.address("submission")
        let out = try python(script, [host, String(port), prefix, String(count)], timeout: 180)
        let ids = String(decoding: out.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        guard out.status == 0, ids.count == count else { throw HarnessError("submit failed: \(out.stderr.suffix(600))") }
        return ids
    }

    static func queueIDs(_ node: RelayProcess) -> Set<String> {
        guard let list = (try? node.adminJSON("/v1/queue?limit=1000"))?["messages"] as? [[String: Any]] else { return [] }
        return Set(list.compactMap { $0["queueId"] as? String })
    }

    @Test("a member restored from a backup rejoins under its id, catches up on later mail, and reports READY=1 once caught up")
    func restoreMember() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-bkc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var nodes = try ClusterRaftTests.startCluster(dir, ips: Self.ips)
        defer { for n in nodes { n.cleanUp() } }
        #expect(ClusterRaftTests.waitFor(30) { ClusterRaftTests.leader(nodes) != nil })

        let early = try Self.submit(nodes[0], prefix: "early", count: 8)
        #expect(ClusterRaftTests.waitFor(30) { Self.queueIDs(nodes[2]).isSuperset(of: early) })
        let file = dir + "/n3.backup"
        let (host, port) = nodes[2].address("admin")
        let backup = try run(RelayProcess.binary, ["backup", file, "--admin", "http://\(host):\(port)", "--token", nodes[2].adminToken])
        #expect(backup.status == 0, "\(backup.stderr)")

        // Mail committed after the backup, while n3 still runs; then n3's machine is lost.
        let late = try Self.submit(nodes[0], prefix: "late", count: 5)
        nodes[2].kill9()
        try FileManager.default.removeItem(atPath: nodes[2].dataDir)

        let restored = dir + "/n3-restored"
        let restore = try run(RelayProcess.binary, ["restore", file, "--data-dir", restored])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(String(decoding: restore.stdout, as: UTF8.self).contains("rejoins and catches up"))

        // systemd's side of NOTIFY_SOCKET, printing every line it gets until STOPPING=1.
        let socketPath = dir + "/notify.sock"
        let outPath = dir + "/notify.out"
        let receiver = """
        import socket, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(120)
        open(sys.argv[1] + ".bound", "w").close()
        while True:
            msg = s.recv(4096).decode()
            for line in msg.split("\\n"): print("GOT " + line, flush=True)
            if "STOPPING=1" in msg.split("\\n"): break
        """
        let py = try ChildProcess("/usr/bin/python3", ["-c", receiver, socketPath], stdoutPath: outPath, stderrPath: outPath)
        defer { if py.isRunning { py.signal(SIGKILL); _ = py.wait() } }
        #expect(ClusterRaftTests.waitFor(20) { FileManager.default.fileExists(atPath: socketPath + ".bound") })

        let peers = [0, 1].map { j -> [String: Any] in ["id": "n\(j + 1)", "address": "\(Self.ips[j]):7700"] }
        let overlay: [String: Any] = [
            "node": ["id": "n3"],
            "listen": ["peer": "\(Self.ips[2]):7700", "submission": ["\(Self.ips[2]):0"], "smtps": [], "relay": []],
            "cluster": ["peers": peers, "secretFile": dir + "/cluster.key"],
        ]
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = socketPath
        let n3 = try RelayProcess(overlay: overlay, dataDir: restored, environment: env)
        nodes[2] = n3
        func notes() -> String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
        #expect(ClusterRaftTests.waitFor(60) { notes().contains("GOT READY=1") }, "\(notes())")
        // Ready means caught up: everything committed before READY is already here.
        let atReady = Self.queueIDs(n3)
        #expect(atReady.isSuperset(of: early + late), "missing \(Set(early + late).subtracting(atReady).count)\n\(n3.log().suffix(4000))\n\(notes())")
        #expect(notes().contains("GOT STATUS=serving as "))
        // The bodies came back too (kept in the restored raft log: `cluster.bodiesInLog`).
        for id in early + late {
            let (code, body) = try n3.admin("/v1/queue/\(id)/body")
            let text = String(decoding: body, as: UTF8.self)
            #expect(code == 200 && text.contains("Subject: ") && text.contains("\r\n\r\nbody "), "\(id): \(code) \(text.prefix(200))")
        }
        // And it is a full member again: mail submitted to it now reaches every node.
        let after = try Self.submit(n3, prefix: "after", count: 3)
        #expect(ClusterRaftTests.waitFor(30) { nodes.allSatisfy { Self.queueIDs($0).isSuperset(of: early + late + after) } })
        let status = try n3.adminJSON("/v1/cluster/status")
        #expect((status["voters"] as? [String])?.sorted() == ["n1", "n2", "n3"])
        n3.stop()
        #expect(py.wait(timeout: 30) == 0)
        #expect(notes().contains("GOT STOPPING=1"))
    }
}
