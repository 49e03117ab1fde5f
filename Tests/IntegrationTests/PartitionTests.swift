import Foundation
import Testing

/// A network partition on loopback with iptables: the isolated leader (minority) stops
/// acknowledging mail while the majority elects a new leader and goes on; after healing, the old
/// leader catches up and every acknowledged message is on every node.
@Suite("Network partition of a real cluster", .serialized)
struct PartitionTests {
    static let ips = ["127.0.6.1", "127.0.6.2", "127.0.6.3"]

    /// Adds (`-A`) or deletes (`-D`) DROP rules for traffic between `a` and `b`, both directions.
    static func cut(_ a: String, _ b: String, _ op: String) throws {
        for (src, dst) in [(a, b), (b, a)] {
            let r = try run("/usr/sbin/iptables", [op, "OUTPUT", "-s", src, "-d", dst, "-j", "DROP"])
            if op == "-A" && r.status != 0 { throw HarnessError("iptables: \(r.stderr)") }
        }
    }

    /// One message through smtplib on the submission port, each socket operation bounded by
    /// `timeout` seconds; returns the SMTP code of the end-of-data reply (or of the first refused
    /// command) and its text (enhanced code first). Code 0 when no reply came: the text then names
    /// the exception (a `TimeoutError` when the server stayed silent for `timeout` seconds).
    static func submit(_ node: RelayProcess, _ token: String, timeout: Int = 20) throws -> (Int, String) {
        let script = """
        import smtplib, ssl, sys
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
        try:
            s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=int(sys.argv[4])); s.ehlo("p.test"); s.starttls(context=ctx)
            s.ehlo("p.test"); s.login("alice", "s3cret-pass"); s.mail("a@example.com"); s.rcpt("b@local.test")
            code, resp = s.data("Subject: %s\\r\\n\\r\\nx\\r\\n" % sys.argv[3])
            print(code, resp.decode())
        except smtplib.SMTPResponseException as e:
            print(e.smtp_code, e.smtp_error.decode())
        except Exception as e:
            print(0, type(e).__name__, e)
        """
        let (host, port) = node.address("submission")
        let out = String(decoding: try python(script, [host, String(port), token, String(timeout)]).stdout, as: UTF8.self)
        let parts = out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", maxSplits: 1)
        return (Int(parts.first ?? "0") ?? 0, parts.count > 1 ? String(parts[1]) : "")
    }

    @Test("iptables partition: the isolated leader answers 451 4.3.0, the majority accepts, healing loses nothing")
    func partition() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-part-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var nodes: [RelayProcess] = []
        var cuts: [(String, String)] = []
        defer {
            for (a, b) in cuts { try? Self.cut(a, b, "-D") }
            for n in nodes { n.cleanUp() }
            try? FileManager.default.removeItem(atPath: dir)
        }
        nodes = try ClusterRaftTests.startCluster(dir, ips: Self.ips)
        #expect(ClusterRaftTests.waitFor(60) { ClusterRaftTests.leader(nodes) != nil })
        let old = try #require(ClusterRaftTests.leader(nodes))
        let (before, beforeText) = try Self.submit(nodes[old], "before")
        #expect(before == 250, "\(beforeText)")

        for (i, ip) in Self.ips.enumerated() where i != old {
            try Self.cut(Self.ips[old], ip, "-A")
            cuts.append((Self.ips[old], ip))
        }
        // The majority elects a new leader among itself.
        var newLeader: Int?
        #expect(ClusterRaftTests.waitFor(20) {
            newLeader = ClusterRaftTests.leader(nodes.enumerated().filter { $0.offset != old }.map(\.element))
                .map { idx in (0..<3).filter { $0 != old }[idx] }
            return newLeader != nil
        })
        // The isolated old leader cannot commit: the client gets `451 4.3.0` (README: "within 5 s"; the
        // 10 s client timeout leaves room for a loaded machine, and how fast it came is a benchmark's
        // business). A timeout, a dropped session or any other code fails.
        let (minority, minorityText) = try Self.submit(nodes[old], "minority", timeout: 10)
        #expect(minority == 451, "the isolated node answered \(minority) \(minorityText)")
        #expect(minorityText.hasPrefix("4.3.0 "), "\(minority) \(minorityText)")
        // The majority side accepts.
        let majorityNode = (0..<3).first { $0 != old }!
        let (majority, majorityText) = try Self.submit(nodes[majorityNode], "majority")
        #expect(majority == 250, "\(majorityText)")

        for (a, b) in cuts { try Self.cut(a, b, "-D") }
        cuts.removeAll()
        // After healing every node has both acknowledged messages and none has the refused one.
        let tokens = ["before", "majority"]
        #expect(ClusterRaftTests.waitFor(30) {
            nodes.allSatisfy { n in
                let subjects = (try? n.adminJSON("/v1/queue?limit=100"))?["messages"] as? [[String: Any]] ?? []
                return subjects.count == tokens.count
            }
        }, "queues did not converge after healing")
        for n in nodes {
            let ids = ((try? n.adminJSON("/v1/queue?limit=100"))?["messages"] as? [[String: Any]] ?? []).compactMap { $0["queueId"] as? String }
            var found: [String] = []
            for id in ids {
                let (_, body) = try n.admin("/v1/queue/\(id)/body")
                let text = String(decoding: body, as: UTF8.self)
                for t in tokens + ["minority"] where text.contains("Subject: \(t)\r\n") { found.append(t) }
            }
            #expect(found.sorted() == tokens.sorted(), "node queue holds \(found)")
        }
    }
}
