import Foundation
import Glibc
import Testing
import TestSupport

/// `/metrics`, event search with cursors, event statistics and `sendarix events --follow`
/// against the real binary, with mail sent by smtplib over STARTTLS and delivered to smtp-sink.
@Suite("Metrics, event search and following through the binary", .serialized)
struct ObservabilityTests {
    /// Sends one message per comma-separated recipient list in argv[3] (lists split on ';') as
    /// alice (tenant acme) over STARTTLS on the submission port: one connection per message.
    static let send = """
    import smtplib, ssl, sys
    host, port = sys.argv[1], int(sys.argv[2])
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    for rcpts in sys.argv[3].split(";"):
        s = smtplib.SMTP(host, port, timeout=30)
        s.ehlo("client.test"); s.starttls(context=ctx); s.ehlo("client.test")
        s.login("alice", "s3cret-pass")
        s.sendmail("app@origin.test", rcpts.split(","), b"From: app@origin.test\\r\\nSubject: m\\r\\n\\r\\nhello\\r\\n")
        s.quit()
    """

    /// Parses the Prometheus text into "name{labels}" → value (labels as written).
    static func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let v = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = v
        }
        return out
    }

    func scrape(_ relay: RelayProcess, token: String? = nil) throws -> (Int, String) {
        let (status, body) = try relay.admin("/metrics", token: token)
        return (status, String(decoding: body, as: UTF8.self))
    }

    /// Polls until `predicate` holds for the events of the query (or 20 s pass).
    func waitForEvents(_ relay: RelayProcess, _ query: String, _ predicate: ([[String: Any]]) -> Bool) throws -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(20)
        var events: [[String: Any]] = []
        while Date() < deadline {
            events = try relay.events(query)
            if predicate(events) { return events }
            usleep(50_000)
        }
        return events
    }

    @Test("after relaying mail the /metrics counters moved by exactly what was sent, and promtool accepts the exposition")
    func metricsAfterMail() throws {
        let sink = try SinkProcess()
        defer { sink.stop() }
        let metricsToken = "metrics-only-token-0123456789"
        let relay = try RelayProcess(overlay: [
            "delivery": ["enabled": true], "metricsToken": metricsToken,
            "routes": [["domain": "sink.test", "hosts": ["127.0.0.1:\(sink.port)"], "tls": "none"]]])
        defer { relay.cleanUp() }
        let (s0, before) = try scrape(relay)
        #expect(s0 == 200, "\(before)")
        #expect(Self.samples(before)["sendarix_messages_accepted_total{tenant=\"acme\"}"] == nil)

        let out = try python(Self.send, ["127.0.0.1", String(relay.port("submission")), "a@sink.test,b@sink.test;c@sink.test"])
        #expect(out.status == 0, "\(out.stderr)")
        let delivered = try waitForEvents(relay, "type=delivered") { $0.count >= 3 }
        #expect(delivered.count == 3, "\(relay.log())")

        let (s1, text) = try scrape(relay, token: metricsToken)
        #expect(s1 == 200)
        let m = Self.samples(text)
        #expect(m["sendarix_messages_accepted_total{tenant=\"acme\"}"] == 2, "\(text)")
        #expect(m["sendarix_recipients_accepted_total{tenant=\"acme\"}"] == 3)
        #expect(m["sendarix_recipients_delivered_total{provider=\"other\",tenant=\"acme\"}"] == 3)
        #expect(m["sendarix_recipients_bounced_total{provider=\"other\",tenant=\"acme\"}"] == nil)
        #expect(m["sendarix_connections_accepted_total{listener=\"submission\"}"] == 2)
        #expect(m["sendarix_connections_open{listener=\"submission\"}"] == 0)
        #expect((m["sendarix_tls_handshakes_total{side=\"server\",version=\"TLSv1.3\"}"] ?? 0) >= 2)
        #expect(m["sendarix_queue_messages"] == 0)
        #expect(m["sendarix_deliveries_in_flight"] == 0)
        #expect((m["sendarix_spool_commit_duration_seconds_count"] ?? 0) >= 4)
        #expect((m["sendarix_lmdb_map_used_bytes"] ?? 0) > 0)
        #expect(m["sendarix_body_memory_bytes"] == 0)
        // The webhook outbox and the limits layer report through collectors (no endpoints, no limits here).
        #expect(m["sendarix_webhook_backlog_calls"] == 0)
        #expect(m["sendarix_webhook_failed_calls"] == 0)
        #expect(m["sendarix_limit_refusals_total{kind=\"rate\"}"] == 0)

        // Prometheus' own linter accepts the exposition (names, types, units, label syntax).
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-metrics-\(UUID().uuidString)").path
        try text.write(toFile: dir, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lint = try run("/bin/sh", ["-c", "promtool check metrics < '\(dir)'"])
        #expect(lint.status == 0, "promtool: \(String(decoding: lint.stdout, as: UTF8.self)) \(lint.stderr)")

        // The metrics token reads /metrics only; no token reads nothing.
        #expect(try relay.admin("/v1/queue", token: metricsToken).0 == 401)
        #expect(try scrape(relay, token: "wrong").0 == 401)
    }

    @Test("event search pages by cursor through the admin API; stats count them; events --follow prints new ones")
    func searchStatsFollow() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let feed = try relay.adminJSON("/v1/events/feed")
        let (host, port) = relay.address("admin")
        let followOut = relay.directory + "/follow.out"
        var args = ["events", "--follow", "--admin", "http://\(host):\(port)", "--token", relay.adminToken, "--tenant", "acme"]
        if let last = feed["last"] as? String { args += ["--after", last] }
        let follower = try ChildProcess(RelayProcess.binary, args, stdoutPath: followOut)
        defer { follower.signal(SIGKILL); _ = follower.wait() }

        let out = try python(Self.send, ["127.0.0.1", String(relay.port("submission")),
                                         "a@one.test,b@two.test,c@one.test;d@one.test"])
        #expect(out.status == 0, "\(out.stderr)")
        let all = try waitForEvents(relay, "tenant=acme&type=accepted") { $0.count >= 4 }
        #expect(all.count == 4)

        let first = try relay.adminJSON("/v1/events?tenant=acme&domain=one.test&limit=2")
        let page1 = first["events"] as? [[String: Any]] ?? []
        #expect(page1.count == 2, "\(first)")
        let next = try #require(first["next"] as? String, "\(first)")
        #expect(next.contains("cursor=") && next.contains("domain=one.test"))
        let second = try relay.adminJSON(next)
        let page2 = second["events"] as? [[String: Any]] ?? []
        #expect(page2.count == 1 && second["cursor"] == nil, "\(second)")
        let recipients = (page1 + page2).compactMap { $0["recipient"] as? String }
        #expect(Set(recipients) == ["a@one.test", "c@one.test", "d@one.test"])
        #expect(recipients.first == "d@one.test")  // newest first: the second message
        #expect(try relay.admin("/v1/events?cursor=garbage").0 == 400)
        #expect(try relay.admin("/v1/events/stats?by=domain&resolution=minute").0 == 400)

        let hourly = try relay.adminJSON("/v1/events/stats?by=domain")
        let rows = hourly["buckets"] as? [[String: Any]] ?? []
        let one = rows.filter { $0["key"] as? String == "one.test" }.compactMap { $0["count"] as? Int }.reduce(0, +)
        let two = rows.filter { $0["key"] as? String == "two.test" }.compactMap { $0["count"] as? Int }.reduce(0, +)
        #expect(one == 3 && two == 1, "\(hourly)")
        let byTenant = try relay.adminJSON("/v1/events/stats?by=tenant&resolution=minute")
        #expect((byTenant["totals"] as? [String: Any])?["accepted"] as? Int == 4, "\(byTenant)")
        #expect((byTenant["thresholds"] as? [String: Any])?["complaintRate"] != nil)

        // The follower printed the four accepted events as JSON lines, oldest first.
        var lines: [[String: Any]] = []
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let text = (try? String(contentsOfFile: followOut, encoding: .utf8)) ?? ""
            lines = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            if lines.count >= 4 { break }
            usleep(50_000)
        }
        #expect(lines.compactMap { $0["recipient"] as? String } == ["a@one.test", "b@two.test", "c@one.test", "d@one.test"],
                "\(lines)")
        #expect(lines.allSatisfy { $0["type"] as? String == "accepted" && $0["tenant"] as? String == "acme" })
    }

    @Test("in a three-node cluster /metrics shows the Raft term, one leader, leader changes and the applied index catching up")
    func clusterRaftMetrics() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-obs-cluster-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ips = ["127.52.0.1", "127.52.0.2", "127.52.0.3"]
        let nodes = try ClusterRaftTests.startCluster(dir, ips: ips)
        defer { nodes.forEach { $0.cleanUp() } }
        #expect(ClusterRaftTests.waitFor(30) { ClusterRaftTests.leader(nodes) != nil })
        let leader = try #require(ClusterRaftTests.leader(nodes))
        let out = try python(Self.send, [ips[leader], String(nodes[leader].port("submission")), "x@far.test"])
        #expect(out.status == 0, "\(out.stderr)")
        // Every node applies the enqueue: its queue gauge shows it and apply lag is back to 0.
        var scraped: [[String: Double]] = []
        let settled = try ClusterRaftTests.waitFor(20) {
            scraped = try nodes.map { Self.samples(try scrape($0).1) }
            return scraped.allSatisfy { $0["sendarix_queue_messages"] == 1 && $0["sendarix_raft_apply_lag_entries"] == 0 }
        }
        #expect(settled, "\(scraped)")
        #expect(scraped.compactMap { $0["sendarix_raft_is_leader"] }.sorted() == [0, 0, 1], "\(scraped)")
        #expect(scraped[leader]["sendarix_raft_is_leader"] == 1)
        for m in scraped {
            #expect((m["sendarix_raft_term"] ?? 0) >= 1)
            #expect((m["sendarix_raft_leader_changes_total"] ?? 0) >= 1)
            #expect((m["sendarix_raft_applied_index"] ?? 0) >= 1 && m["sendarix_raft_applied_index"] == m["sendarix_raft_commit_index"])
        }
        #expect(scraped[leader]["sendarix_messages_accepted_total{tenant=\"acme\"}"] == 1)
        let text = try scrape(nodes[(leader + 1) % 3]).1
        let file = dir + "/metrics.txt"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let lint = try run("/bin/sh", ["-c", "promtool check metrics < '\(file)'"])
        #expect(lint.status == 0, "promtool: \(String(decoding: lint.stdout, as: UTF8.self)) \(lint.stderr)")
    }
}
