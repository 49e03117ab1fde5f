import Foundation
import Glibc
import Testing
import TestSupport

/// Power cuts, not just crashes: a SIGKILLed process leaves its writes in the page cache, so a
/// missing fsync goes unnoticed by a kill -9 test. Here each node's data directory is a FUSE mount
/// (`cluster/lib/powerloss_fs.py`) that keeps unsynced writes in memory and forgets them at the cut:
/// the backing directory holds only what fsync/fdatasync made durable. The node is SIGKILLed, the
/// disk "loses power", is mounted again and the node restarted on what survived; every message
/// that got a 250 must be there, byte for byte.
@Suite("Power loss: only fsynced data survives", .serialized)
struct PowerLossTests {
    /// A power-loss mount over a node's data directory; `backing` is the disk that survives.
    final class Disk: @unchecked Sendable {
        // Safe: used only by the test that owns it.
        static var script: String {
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("cluster/lib/powerloss_fs.py").path
        }

        let mountPoint: String
        let backing: String
        let logPath: String
        let readyPath: String
        var process: ChildProcess?

        /// Mounts `backing` (created if absent) at `mountPoint`.
        init(mountPoint: String, backing: String) throws {
            // As /proc/self/mountinfo spells it (no symbolic links).
            self.mountPoint = URL(fileURLWithPath: mountPoint).resolvingSymlinksInPath().path
            self.backing = backing
            logPath = backing + ".fs.log"
            readyPath = backing + ".ready"
            try FileManager.default.createDirectory(atPath: backing, withIntermediateDirectories: true)
            try mount()
        }

        /// Starts the FUSE program with an empty overlay; returns once the kernel has the mount.
        func mount() throws {
            try? FileManager.default.removeItem(atPath: readyPath)
            let p = try ChildProcess("/usr/bin/python3", [Self.script, backing, mountPoint, "--ready", readyPath],
                                     stdoutPath: logPath, stderrPath: logPath, appendOutput: true)
            process = p
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, p.isRunning, !FileManager.default.fileExists(atPath: readyPath) { usleep(20_000) }
            guard FileManager.default.fileExists(atPath: readyPath), isMounted else {
                throw HarnessError("powerloss_fs did not mount \(mountPoint): \(log())")
            }
        }

        /// True while `mountPoint` is a mount point of this process's namespace.
        var isMounted: Bool {
            let info = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
            return info.split(separator: "\n").contains { $0.split(separator: " ")[4] == mountPoint }
        }

        func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

        /// The cut: drops every unsynced write, unmounts, and returns the program's report
        /// (`dropped.files`, `dropped.blocks`, `fsyncs`, `writes`). Stop the node first.
        func powerOff() throws -> [String: Any] {
            guard let p = process else { throw HarnessError("not mounted") }
            p.signal(SIGUSR1)
            let status = p.wait(timeout: 30)
            process = nil
            let line = log().split(separator: "\n").last { $0.contains("\"event\": \"power off\"") }
            guard status == 0, !isMounted, let line,
                  let report = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw HarnessError("power off failed (status \(status)): \(log())")
            }
            return report
        }

        /// Stops the program and detaches the mount in every case (also after a failure).
        func cleanUp() {
            if let p = process, p.isRunning {
                p.signal(SIGTERM)
                p.wait(timeout: 15)
            }
            process = nil
            if isMounted { _ = umount2(mountPoint, Int32(MNT_DETACH)) }
        }
    }

    /// Concurrent smtplib sessions, one per thread, each sending `per` messages until the first
    /// failure. Appends one JSON line per 250 (queue id, token, SHA-256 of the exact bytes sent).
    /// argv: targets JSON [[host, port]...], "auth" (STARTTLS + AUTH) or "plain", output, threads, per.
    static let load = #"""
    import hashlib, json, smtplib, ssl, sys, threading
    targets = json.loads(sys.argv[1]); auth = sys.argv[2] == "auth"; out = open(sys.argv[3], "a")
    threads, per = int(sys.argv[4]), int(sys.argv[5])
    lock = threading.Lock()
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    def worker(w):
        host, port = targets[w % len(targets)]
        try:
            s = smtplib.SMTP(host, port, timeout=20); s.ehlo("load.test")
            if auth:
                s.starttls(context=ctx); s.ehlo("load.test"); s.login("alice", "s3cret-pass")
            for i in range(per):
                token = f"w{w}-m{i}"
                msg = (f"Subject: {token}\r\nMessage-ID: <{token}@load.test>\r\n\r\n" +
                       "".join(f"power loss {token} line {k}\r\n" for k in range(60))).encode()
                s.mail("sender@remote.test"); s.rcpt("rcpt@local.test")
                code, resp = s.data(msg)
                if code != 250: return
                line = json.dumps({"id": resp.decode().split()[-1], "token": token,
                                   "sha": hashlib.sha256(msg).hexdigest()})
                with lock: out.write(line + "\n"); out.flush()
        except Exception:
            pass
    ts = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    [t.start() for t in ts]; [t.join() for t in ts]
    """#

    /// Fetches every acknowledged body from one node (admin API, keep-alive): the stored bytes must
    /// be the node's trace headers followed by exactly what the client sent. Prints the counts.
    static let checker = #"""
    import hashlib, http.client, json, sys
    host, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    acked = [json.loads(l) for l in open(sys.argv[4]) if l.endswith("\n")]
    c = http.client.HTTPConnection(host, port, timeout=30); missing = []; altered = []
    for a in acked:
        c.request("GET", "/v1/queue/%s/body" % a["id"], headers={"Authorization": "Bearer " + token})
        r = c.getresponse(); body = r.read()
        if r.status == 404: missing.append(a["id"]); continue
        i = body.find(("Subject: %s\r\n" % a["token"]).encode())
        if r.status != 200 or i < 0 or hashlib.sha256(body[i:]).hexdigest() != a["sha"]: altered.append(a["id"])
    print(json.dumps({"checked": len(acked), "missing": missing, "altered": altered}))
    """#

    /// What one check of a node found.
    struct Check {
        var checked = -1
        var missing: [String] = []
        var altered: [String] = []
        var raw = ""
    }

    static func check(_ node: RelayProcess, _ ackedPath: String) throws -> Check {
        let (host, port) = node.address("admin")
        let r = try python(checker, [host, String(port), node.adminToken, ackedPath], timeout: 120)
        var c = Check(raw: String(decoding: r.stdout, as: UTF8.self) + r.stderr)
        if let obj = try? JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] {
            c.checked = obj["checked"] as? Int ?? -1
            c.missing = obj["missing"] as? [String] ?? []
            c.altered = obj["altered"] as? [String] ?? []
        }
        return c
    }

    /// Complete lines of the load's output so far.
    static func ackedCount(_ path: String) -> Int {
        (FileManager.default.contents(atPath: path) ?? Data()).reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }

    /// Puts a power-loss disk under a node started by `RelayProcess` (which starts it on a plain
    /// directory): SIGKILLs that first run, keeps only the TLS certificate it generated (a file
    /// from an earlier boot, long on disk: the mail data is what is under test), and mounts the
    /// disk over the now empty data directory. The caller launches the node again.
    static func moveOntoDisk(_ relay: RelayProcess) throws -> Disk {
        relay.kill9()
        let fm = FileManager.default
        let backing = relay.directory + "/disk"
        try fm.createDirectory(atPath: backing, withIntermediateDirectories: true)
        try fm.moveItem(atPath: relay.dataDir + "/tls", toPath: backing + "/tls")
        for item in try fm.contentsOfDirectory(atPath: relay.dataDir) {
            try fm.removeItem(atPath: relay.dataDir + "/" + item)
        }
        return try Disk(mountPoint: relay.dataDir, backing: backing)
    }

    /// Starts `load` against `targets` and waits until `atLeast` messages were acknowledged (or the
    /// load ended). The limits are hang guards: 60 s without a new acknowledgement (a debug node on
    /// the FUSE layer of a loaded machine is slow, not stuck), 300 s in all.
    static func startLoad(_ dir: String, targets: [(String, Int)], auth: Bool, threads: Int, per: Int,
                          atLeast: Int) throws -> (ChildProcess, String) {
        let out = dir + "/acked.jsonl"
        let targetsJSON = String(decoding: try JSONSerialization.data(withJSONObject: targets.map { [$0.0, $0.1] }),
                                 as: UTF8.self)
        let p = try ChildProcess("/usr/bin/python3", ["-c", load, targetsJSON, auth ? "auth" : "plain", out,
                                                      "\(threads)", "\(per)"], stderrPath: dir + "/load.err")
        let hangGuard = Date().addingTimeInterval(300)
        var seen = 0
        var deadline = Date().addingTimeInterval(60)
        while Date() < deadline, Date() < hangGuard, p.isRunning {
            let count = ackedCount(out)
            if count >= atLeast { break }
            if count > seen {
                seen = count
                deadline = Date().addingTimeInterval(60)
            }
            usleep(20_000)
        }
        return (p, out)
    }

    /// One node under load, SIGKILL, power cut, restart; returns the figures.
    static func singleNodeCut(fsync: Bool) throws -> (acked: Int, check: Check, dropped: [String: Any]) {
        let relay = try RelayProcess(overlay: fsync ? [:] : ["spool": ["fsync": false]])
        var disk: Disk?
        defer {
            if relay.process.isRunning { relay.kill9() }
            disk?.cleanUp()
            relay.cleanUp()
        }
        disk = try moveOntoDisk(relay)
        try relay.launch()
        let (load, ackedPath) = try startLoad(relay.directory, targets: [relay.address("relay")], auth: false,
                                              threads: 16, per: 40, atLeast: 200)
        relay.kill9()
        let report = try disk!.powerOff()
        load.wait(timeout: 60)
        let acked = ackedCount(ackedPath)
        try disk!.mount()
        try relay.launch()
        let check = try check(relay, ackedPath)
        print("power loss, single node, spool.fsync \(fsync): \(acked) acknowledged, \(check.missing.count) missing, "
              + "\(check.altered.count) altered after the cut; the cut dropped \(report["dropped"] ?? "?"), "
              + "\(report["fsyncs"] ?? "?") fsyncs before it")
        return (acked, check, report)
    }

    @Test("powerloss_fs keeps exactly the fsynced bytes: unsynced writes, extensions and truncations are gone after the cut")
    func diskKeepsOnlySyncedBytes() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("sx-disk-\(UUID().uuidString)").path
        try fm.createDirectory(atPath: dir + "/mnt", withIntermediateDirectories: true)
        var disk: Disk?
        defer {
            disk?.cleanUp()
            try? fm.removeItem(atPath: dir)
        }
        disk = try Disk(mountPoint: dir + "/mnt", backing: dir + "/disk")
        // Writes through the mount; prints what the mount itself reads back (the page cache, reads
        // and a read-only shared mapping must all see the unsynced writes before the cut).
        let writer = #"""
        import mmap, os, sys
        m = sys.argv[1]
        fd = os.open(m + "/synced", os.O_CREAT | os.O_RDWR, 0o600)
        os.write(fd, b"A" * 10000); os.fsync(fd)
        os.pwrite(fd, b"B" * 5, 100); os.pwrite(fd, b"C" * 10, 9995)         # unsynced overwrite and extension
        mp = mmap.mmap(fd, 10005, mmap.MAP_SHARED, mmap.PROT_READ)
        print("mmap", mp[98:107].decode(), "read", os.pread(fd, 12, 9993).decode())
        mp.close(); os.close(fd)
        fd = os.open(m + "/never", os.O_CREAT | os.O_RDWR, 0o600); os.write(fd, b"x" * 5000); os.close(fd)
        fd = os.open(m + "/dsync", os.O_CREAT | os.O_WRONLY, 0o600); os.pwrite(fd, b"data", 4096)  # unsynced
        fd2 = os.open(m + "/dsync", os.O_WRONLY | os.O_DSYNC); os.pwrite(fd2, b"meta", 0); os.close(fd2); os.close(fd)
        fd = os.open(m + "/fdatasync", os.O_CREAT | os.O_RDWR, 0o600)
        os.write(fd, b"Z" * 8192); os.fdatasync(fd)
        os.ftruncate(fd, 10); os.pwrite(fd, b"q", 8000); os.fdatasync(fd)   # truncate, extend: zeros between
        os.pwrite(fd, b"lost", 0); os.ftruncate(fd, 4)                       # unsynced again
        os.close(fd)
        """#
        let w = try python(writer, [dir + "/mnt"])
        #expect(String(decoding: w.stdout, as: UTF8.self) == "mmap AABBBBBAA read AACCCCCCCCCC\n", "\(w.stderr)")
        let report = try disk!.powerOff()
        #expect(((report["dropped"] as? [String: Any])?["files"] as? Int) == 4, "\(report)")
        let synced = fm.contents(atPath: dir + "/disk/synced") ?? Data()
        #expect(synced == Data(repeating: UInt8(ascii: "A"), count: 10000))
        #expect(fm.contents(atPath: dir + "/disk/never") == Data())
        #expect(fm.contents(atPath: dir + "/disk/dsync") == Data("meta".utf8))
        var expected = Data(repeating: UInt8(ascii: "Z"), count: 10) + Data(count: 7990)
        expected.append(UInt8(ascii: "q"))
        #expect(fm.contents(atPath: dir + "/disk/fdatasync") == expected)
        // Mounted again, the files are what the disk kept.
        try disk!.mount()
        #expect(fm.contents(atPath: dir + "/mnt/synced") == synced)
        #expect(fm.contents(atPath: dir + "/mnt/fdatasync") == expected)
    }

    @Test("a power cut right after the first start: the generated certificate is whole, the node starts again with its mail")
    func powerCutAfterFirstStart() throws {
        let relay = try RelayProcess()
        var disk: Disk?
        defer {
            if relay.process.isRunning { relay.kill9() }
            disk?.cleanUp()
            relay.cleanUp()
        }
        // Start from an empty disk: everything the first start writes (certificate and key
        // included) goes through the power-loss layer.
        relay.kill9()
        let fm = FileManager.default
        for item in try fm.contentsOfDirectory(atPath: relay.dataDir) { try fm.removeItem(atPath: relay.dataDir + "/" + item) }
        disk = try Disk(mountPoint: relay.dataDir, backing: relay.directory + "/disk")
        try relay.launch()
        let (load, ackedPath) = try Self.startLoad(relay.directory, targets: [relay.address("relay")], auth: false,
                                                   threads: 2, per: 5, atLeast: 10)
        load.wait(timeout: 60)
        relay.kill9()
        _ = try disk!.powerOff()
        try disk!.mount()
        try relay.launch()
        let check = try Self.check(relay, ackedPath)
        #expect(Self.ackedCount(ackedPath) == 10)
        #expect(check.checked == 10 && check.missing.isEmpty && check.altered.isEmpty, "\(check.raw)")
    }

    @Test("power cut under SMTP load with spool.fsync on: every 250'd message comes back byte-identical")
    func powerCutKeepsAcknowledgedMail() throws {
        let (acked, check, report) = try Self.singleNodeCut(fsync: true)
        #expect(acked >= 200, "acknowledged only \(acked)")
        #expect(check.checked == acked, "\(check.raw)")
        #expect(check.missing.isEmpty, "lost: \(check.missing.count) of \(acked)")
        #expect(check.altered.isEmpty, "altered: \(check.altered)")
        #expect((report["fsyncs"] as? Int ?? 0) > 0)
    }

    @Test("the harness sees lost mail: with spool.fsync off a power cut loses acknowledged messages")
    func powerCutWithoutFsyncLosesMail() throws {
        let (acked, check, report) = try Self.singleNodeCut(fsync: false)
        #expect(acked >= 200, "acknowledged only \(acked)")
        #expect(check.checked == acked, "\(check.raw)")
        #expect(!check.missing.isEmpty, "no acknowledged message was lost without fsync: the cut keeps unsynced writes")
        #expect(((report["dropped"] as? [String: Any])?["blocks"] as? Int ?? 0) > 0)
    }

    static let clusterIPs = ["127.0.8.1", "127.0.8.2", "127.0.8.3"]

    @Test("a 3-node cluster loses power all at once under load: every 250'd message is on every node, byte-identical")
    func clusterPowerCut() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("sx-power-\(UUID().uuidString)").path
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var nodes: [RelayProcess] = []
        var disks: [Disk] = []
        defer {
            for n in nodes where n.process.isRunning { n.kill9() }
            for d in disks { d.cleanUp() }
            for n in nodes { n.cleanUp() }
            try? fm.removeItem(atPath: dir)
        }
        nodes = try ClusterRaftTests.startCluster(dir, ips: Self.clusterIPs)
        for n in nodes { disks.append(try Self.moveOntoDisk(n)) }
        for n in nodes { try n.launch() }
        #expect(ClusterRaftTests.waitFor(60) { ClusterRaftTests.leader(nodes) != nil })
        let (load, ackedPath) = try Self.startLoad(dir, targets: nodes.map { $0.address("submission") }, auth: true,
                                                   threads: 12, per: 40, atLeast: 200)
        for n in nodes { n.kill9() }
        let reports = try disks.map { try $0.powerOff() }
        load.wait(timeout: 60)
        let acked = Self.ackedCount(ackedPath)
        #expect(acked >= 200, "acknowledged only \(acked)")
        for d in disks { try d.mount() }
        for n in nodes { try n.launch() }
        for (i, n) in nodes.enumerated() {
            var last = Check()
            // A hang guard (it returns as soon as the node has them all): each poll GETs every
            // acknowledged body.
            let ok = try ClusterRaftTests.waitFor(120) {
                last = try Self.check(n, ackedPath)
                return last.checked == acked && last.missing.isEmpty && last.altered.isEmpty
            }
            print("power loss, cluster node n\(i + 1): \(acked) acknowledged, \(last.missing.count) missing, "
                  + "\(last.altered.count) altered after the cut; the cut dropped \(reports[i]["dropped"] ?? "?")")
            #expect(ok, "node n\(i + 1): \(last.checked) checked, \(last.missing.count) missing, \(last.altered.count) altered: \(last.raw.prefix(400))")
        }
    }
}
