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

    /// One message through smtplib on the submission port; returns the SMTP code (0 on connection failure).
    static func submit(_ node: RelayProcess, _ token: String) throws -> (Int, String) {
        let script = """
        import smtplib, ssl, sys
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
        try:
            s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=20); s.ehlo("p.test"); s.starttls(context=ctx)
            s.ehlo("p.test"); s.login("alice", "s3cret-pass"); s.mail("a@example.com"); s.rcpt("b@local.test")
            code, resp = s.data("Subject: %s\\r\\n\\r\\nx\\r\\n" % sys.argv[3])
            print(code, resp.decode())
        except smtplib.SMTPResponseException as e:
            print(e.smtp_code, e.smtp_error.decode())
        except Exception as e:
            print(0, e)
        """
        let (host, port) = node.address("submission")
        let out = String(decoding: try python(script, [host, String(port), token]).stdout, as: UTF8.self)
        let parts = out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", maxSplits: 1)
        return (Int(parts.first ?? "0") ?? 0, parts.count > 1 ? String(parts[1]) : "")
    }

    @Test("iptables partition: the isolated leader answers 4xx, the majority accepts, healing loses nothing")
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
        #expect(ClusterRaftTests.waitFor(20) { ClusterRaftTests.leader(nodes) != nil })
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
        // The isolated old leader cannot commit: the client gets a 4xx (or loses the session), never 250.
        let (minority, minorityText) = try Self.submit(nodes[old], "minority")
        #expect(minority != 250, "the isolated node acknowledged: \(minorityText)")
        #expect(minority == 0 || (400..<500).contains(minority), "\(minority) \(minorityText)")
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
