import Foundation
import Testing
import TestSupport

/// `sendarix backup` of a running node through the admin API and `sendarix restore` onto a fresh
/// data directory, through the binary.
@Suite("Backup and restore", .serialized)
struct BackupRestoreTests {
    /// Queues `count` messages with distinct bodies (8-bit bytes, sizes up to ~200 KB) on the relay
    /// port in one SMTP session; returns the queue ids in order.
    static func queueMessages(_ relay: RelayProcess, count: Int) throws -> [String] {
        let script = """
        import smtplib, sys
        s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=60); s.ehlo("a.test")
        for i in range(int(sys.argv[3])):
            raw = bytes((i * 7 + j) % 94 + 33 for j in range(50 + i * 9973))
            text = b"\\r\\n".join(raw[k:k + 76] for k in range(0, len(raw), 76))
            body = b"Subject: backup %d\\r\\n\\r\\n" % i + text + b"\\r\\n\\xc3\\xa9t\\xc3\\xa9\\r\\n"
            s.mail("s@remote.test"); s.rcpt("r%d@local.test" % i)
            code, resp = s.data(body)
            assert code == 250, (code, resp)
            print(resp.decode().split("queued as ")[1].strip())
        s.quit()
        """
        let out = try python(script, ["127.0.0.1", String(relay.port("relay")), String(count)])
        let ids = String(decoding: out.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        guard out.status == 0, ids.count == count else { throw HarnessError("queueing failed: \(out.stderr.suffix(600))") }
        return ids
    }

    /// Queue ids, raw bodies and events (id, type, queue id) a node reports.
    static func contents(_ relay: RelayProcess) throws -> (ids: Set<String>, bodies: [String: Data], events: [String]) {
        let list = try relay.adminJSON("/v1/queue?limit=1000")["messages"] as? [[String: Any]] ?? []
        var bodies: [String: Data] = [:]
        for m in list {
            let id = try #require(m["queueId"] as? String)
            let (status, body) = try relay.admin("/v1/queue/\(id)/body")
            guard status == 200 else { throw HarnessError("body of \(id): \(status)") }
            bodies[id] = body
        }
        let events = try relay.events("limit=1000").map { e in
            "\(e["id"] ?? "") \(e["type"] ?? "") \(e["queueId"] ?? "") \(e["recipient"] ?? "")"
        }
        return (Set(bodies.keys), bodies, events)
    }

    func cli(_ relay: RelayProcess?, _ args: [String]) throws -> (Int32, String) {
        var full = args
        if let relay {
            let (host, port) = relay.address("admin")
            full += ["--admin", "http://\(host):\(port)", "--token", relay.adminToken]
        }
        let out = try run(RelayProcess.binary, full)
        return (out.status, String(decoding: out.stdout, as: UTF8.self) + out.stderr)
    }

    @Test("a running node's backup restores onto a fresh data directory: same queue ids, byte-identical bodies, same events")
    func backupAndRestore() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sx-backup-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        // Delivery is off, so everything accepted stays queued (held) while the node runs.
        let original = try RelayProcess()
        defer { original.cleanUp() }
        let queued = try Self.queueMessages(original, count: 12)
        let before = try Self.contents(original)
        #expect(before.ids == Set(queued))
        #expect(before.events.count >= 12)

        let file = work + "/node.backup"
        let (status, output) = try cli(original, ["backup", file])
        #expect(status == 0, "\(output)")
        #expect(output.contains("backup of node it1"))
        // The node kept running and serving during and after the backup.
        #expect(try original.admin("/v1/queue").0 == 200)

        let restored = work + "/restored"
        let (rs, rout) = try cli(nil, ["restore", file, "--data-dir", restored])
        #expect(rs == 0, "\(rout)")
        // A second restore into the now non-empty directory is refused.
        let (again, againOut) = try cli(nil, ["restore", file, "--data-dir", restored])
        #expect(again != 0 && againOut.contains("is not empty"), "\(againOut)")

        let node = try RelayProcess(dataDir: restored)
        defer { node.cleanUp() }
        let after = try Self.contents(node)
        #expect(after.ids == before.ids)
        for (id, body) in before.bodies { #expect(after.bodies[id] == body, "body of \(id)") }
        #expect(after.events == before.events)
        // The restored node accepts new mail with queue ids of its own.
        let more = try Self.queueMessages(node, count: 1)
        #expect(!before.ids.contains(more[0]))
    }

    @Test("a backup taken while mail streams in is one consistent instant: every restored message is whole, has its accepted event, and nothing is invented")
    func backupUnderLoad() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sx-backup-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let original = try RelayProcess()
        defer { original.cleanUp() }
        _ = try Self.queueMessages(original, count: 3)
        // 150 more messages while the backup runs.
        let sender = """
        import smtplib, sys
        s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=60); s.ehlo("a.test")
        for i in range(150):
            s.mail("s@remote.test"); s.rcpt("load%d@local.test" % i)
            code, resp = s.data(b"Subject: load %d\\r\\n\\r\\n" % i + (b"y" * 70 + b"\\r\\n") * (i % 40 + 1))
            assert code == 250, (code, resp)
        s.quit()
        """
        let outPath = work + "/load.out"
        let load = try ChildProcess("/usr/bin/python3", ["-c", sender, "127.0.0.1", String(original.port("relay"))],
                                    stdoutPath: outPath, stderrPath: outPath)
        defer { if load.isRunning { load.signal(SIGKILL); _ = load.wait() } }
        // Back up once the load is under way.
        let started = ClusterRaftTests.waitFor(60) {
            ((try? original.adminJSON("/v1/queue?limit=1"))?["count"] as? Int ?? 0) >= 30 || !load.isRunning
        }
        #expect(started && load.isRunning, "the load finished before the backup")
        let file = work + "/node.backup"
        let (status, output) = try cli(original, ["backup", file])
        #expect(status == 0, "\(output)")
        #expect(load.wait(timeout: 120) == 0, "\((try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "")")
        let final = try Self.contents(original)

        #expect(try cli(nil, ["restore", file, "--data-dir", work + "/restored"]).0 == 0)
        let node = try RelayProcess(dataDir: work + "/restored")
        defer { node.cleanUp() }
        let restored = try Self.contents(node)
        print("backup under load: the restored node has \(restored.ids.count) of the \(final.ids.count) messages queued by the end")
        #expect(restored.ids.count >= 3 && restored.ids.isSubset(of: final.ids))
        for (id, body) in restored.bodies { #expect(final.bodies[id] == body, "body of \(id)") }
        #expect(Set(restored.events).isSubset(of: Set(final.events)))
        let accepted = Set(restored.events.filter { $0.contains(" accepted ") }.map { $0.split(separator: " ")[2] }.map(String.init))
        #expect(accepted == restored.ids, "every restored message has its accepted event and every accepted event its message")
    }

    @Test("restore refuses a corrupted backup (checksum) and a newer format, naming both versions, and writes nothing")
    func restoreRefusals() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sx-backup-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        _ = try Self.queueMessages(relay, count: 2)
        let file = work + "/node.backup"
        #expect(try cli(relay, ["backup", file]).0 == 0)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        let manifestEnd = try #require(bytes.indices.dropFirst(16).first { bytes[$0] == 0x0A })

        var corrupted = bytes
        corrupted[manifestEnd + 5000] ^= 0x01
        try Data(corrupted).write(to: URL(fileURLWithPath: work + "/corrupted"))
        let (cs, cout) = try cli(nil, ["restore", work + "/corrupted", "--data-dir", work + "/c"])
        #expect(cs != 0 && cout.contains("checksum mismatch for spool/data.mdb"), "\(cout)")
        #expect(!FileManager.default.fileExists(atPath: work + "/c/spool/data.mdb"))

        let header = String(decoding: bytes[16..<manifestEnd], as: UTF8.self)
        let newer = header.replacingOccurrences(of: "\"formatVersion\":1", with: "\"formatVersion\":2")
        #expect(newer != header)
        bytes.replaceSubrange(16..<manifestEnd, with: Array(newer.utf8))
        try Data(bytes).write(to: URL(fileURLWithPath: work + "/newer"))
        let (ns, nout) = try cli(nil, ["restore", work + "/newer", "--data-dir", work + "/n"])
        #expect(ns != 0 && nout.contains("backup format version 2 is newer than this build's version 1"), "\(nout)")
        #expect(!FileManager.default.fileExists(atPath: work + "/n/spool"))
    }
}
