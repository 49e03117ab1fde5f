import Foundation
import SendarixSupport
import Testing
import TestSupport

/// `spool.writerNice` through the binary: the threads every accept waits on in turn (the spool
/// writer of a single node; the raft loop and applier of a cluster node) run at the configured
/// nice value and carry names an operator sees in `top -H`; the event loops keep the process's;
/// and a node that may not raise priority says how to allow it and runs on at nice 0.
@Suite("commit thread priority (spool.writerNice)", .serialized)
struct CommitPriorityTests {
    /// Whether this test process may lower a thread's nice value (root, CAP_SYS_NICE or
    /// RLIMIT_NICE): the node it starts inherits that, and needs it for a negative writerNice.
    static let mayRaise = ThreadPriority.probe(nice: ThreadPriority.nice() - 1) == 0

    /// The process's threads by name (`/proc/<pid>/task/<tid>/comm`), each with its nice value
    /// (field 19 of `stat`).
    static func threads(of pid: Int32) -> [(name: String, nice: Int)] {
        let dir = "/proc/\(pid)/task"
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).compactMap { tid in
            guard let comm = try? String(contentsOfFile: "\(dir)/\(tid)/comm", encoding: .utf8),
                  let stat = try? String(contentsOfFile: "\(dir)/\(tid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // After "pid (comm) ": state is field 3, nice is field 19.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 16, let nice = Int(fields[16]) else { return nil }
            return (comm.trimmingCharacters(in: .newlines), nice)
        }
    }

    /// Waits (a hang guard) until every name in `names` is a thread of `pid`, then returns them.
    static func waitForThreads(_ names: Set<String>, of pid: Int32) -> [(name: String, nice: Int)] {
        var found = threads(of: pid)
        _ = ClusterRaftTests.waitFor(30) {
            found = threads(of: pid)
            return names.isSubset(of: Set(found.map(\.name)))
        }
        return found
    }

    /// Sends `count` messages in one session through the node's submission port with smtplib
    /// (STARTTLS, AUTH PLAIN) and returns how many messages the node's queue then holds.
    static func submit(_ relay: RelayProcess, count: Int = 1) throws -> Int {
        let (host, port) = relay.address("submission")
        let script = """
        import smtplib, ssl, sys
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=60)
        s.starttls(context=ctx)
        s.login("alice", "s3cret-pass")
        refused = {}
        for i in range(int(sys.argv[3])):
            refused.update(s.sendmail("a@example.com", ["b@example.net"], "Subject: nice %d\\r\\n\\r\\nhello\\r\\n" % i))
        s.quit()
        print(len(refused))
        """
        let out = try python(script, [host, String(port), String(count)])
        guard out.status == 0, String(decoding: out.stdout, as: UTF8.self).hasPrefix("0") else {
            throw HarnessError("smtplib: \(out.stderr)")
        }
        return (try relay.adminJSON("/v1/queue")["messages"] as? [[String: Any]])?.count ?? -1
    }

    @Test("a single node: the spool writer thread runs at spool.writerNice, the SMTP event loops and the webhook dispatcher at the process's nice value",
          .enabled(if: mayRaise, "needs root, CAP_SYS_NICE or RLIMIT_NICE"))
    func singleNodeWriter() throws {
        let relay = try RelayProcess(overlay: ["spool": ["writerNice": -7]])
        defer { relay.cleanUp() }
        let base = Int(ThreadPriority.nice())  // the node inherits the test process's value
        let threads = Self.waitForThreads(["spool-writer", "loop-0", "webhooks"], of: relay.process.pid)
        #expect(threads.filter { $0.name == "webhooks" }.map(\.nice) == [base], "\(threads)")
        let writer = threads.filter { $0.name == "spool-writer" }
        #expect(writer.count == 1, "\(threads)")
        #expect(writer.allSatisfy { $0.nice == -7 }, "\(threads)")
        let loops = threads.filter { $0.name.hasPrefix("loop-") }
        #expect(!loops.isEmpty && loops.allSatisfy { $0.nice == base }, "\(threads)")
        #expect(!relay.log().contains("spool.writerNice is not permitted"))
        #expect(try Self.submit(relay, count: 30) == 30, "\(relay.log().suffix(2000))")
        // After 30 commits, no thread the writer started (or libdispatch started for it) runs raised.
        let after = Self.threads(of: relay.process.pid)
        #expect(after.filter { $0.nice == -7 }.map(\.name) == ["spool-writer"], "\(after)")
    }

    @Test("a cluster node: the raft loop and the raft applier run at spool.writerNice; no thread is named spool-writer",
          .enabled(if: mayRaise, "needs root, CAP_SYS_NICE or RLIMIT_NICE"))
    func clusterNodeThreads() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-nice-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let secret = dir + "/cluster.key"
        try "nice-test-secret-\(UUID().uuidString)".write(toFile: secret, atomically: true, encoding: .utf8)
        // Peers on port 9 (discard) of loopback: nothing listens; the node's own threads are what is checked.
        let relay = try RelayProcess(overlay: [
            "node": ["id": "n1"],
            "listen": ["peer": "127.0.0.1:0"],
            "cluster": ["peers": [["id": "n2", "address": "127.0.0.1:9"], ["id": "n3", "address": "127.0.0.1:9"]],
                        "secretFile": secret],
            "spool": ["writerNice": -4],
        ])
        defer { relay.cleanUp() }
        let threads = Self.waitForThreads(["raft-n1", "raft-apply", "loop-0"], of: relay.process.pid)
        for name in ["raft-n1", "raft-apply"] {
            let t = threads.filter { $0.name == name }
            #expect(t.count == 1 && t[0].nice == -4, "\(name): \(threads)")
        }
        #expect(!threads.contains { $0.name == "spool-writer" }, "\(threads)")
        #expect(threads.filter { $0.name.hasPrefix("loop-") }.allSatisfy { $0.nice == Int(ThreadPriority.nice()) }, "\(threads)")
    }

    @Test("without CAP_SYS_NICE (setpriv drops it) the node warns once with what to grant, keeps the process's nice value and accepts mail",
          .enabled(if: getuid() == 0, "setpriv needs root to drop a capability"))
    func notPermitted() throws {
        // Root without CAP_SYS_NICE in its bounding set, RLIMIT_NICE 0 (prlimit): setpriority(-10) fails.
        let relay = try RelayProcess(overlay: ["spool": ["writerNice": -10]],
                                     launcher: ["/usr/bin/prlimit", "--nice=0:0", "--",
                                                "/usr/bin/setpriv", "--bounding-set=-sys_nice", "--inh-caps=-sys_nice", "--"])
        defer { relay.cleanUp() }
        let threads = Self.waitForThreads(["spool-writer"], of: relay.process.pid)
        #expect(threads.filter { $0.name == "spool-writer" }.map(\.nice) == [Int(ThreadPriority.nice())], "\(threads)")
        let warnings = relay.log().split(separator: "\n").filter { $0.contains("spool.writerNice is not permitted") }
        #expect(warnings.count == 1, "\(relay.log().suffix(2000))")
        #expect(warnings.first?.contains("LimitNICE=-10") == true, "\(warnings)")
        #expect(warnings.first?.contains("CAP_SYS_NICE") == true, "\(warnings)")
        #expect(try Self.submit(relay) == 1, "\(relay.log().suffix(2000))")
    }
}
