import Foundation
import Testing
import TestSupport

/// Outbound spam scoring through the binary with a private rspamd on 127.55.2.1: GTUBE is refused
/// at the end of DATA, or held in the quarantine and released through the CLI; an rspamd that never
/// answers costs at most the timeout and then the message is accepted (fail-open) or deferred (fail-closed).
@Suite("Spam filter with rspamd", .serialized)
struct SpamFilterTests {
    static let gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

    /// Logs in as alice and sends each body; prints the end-of-DATA reply of each as JSON.
    static let client = #"""
    import json, smtplib, ssl, sys
    host, port, bodies = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP(host, port, timeout=30); s.ehlo("client.test"); s.starttls(context=ctx); s.ehlo("client.test")
    s.login("alice", "s3cret-pass")
    out = []
    for b in bodies:
        s.mail("alice@sender.test"); s.rcpt("bob@local.test")
        code, text = s.data("Subject: test\r\nMessage-ID: <%d@client.test>\r\n\r\n%s\r\n" % (len(out), b))
        out.append([code, text.decode()])
    s.quit()
    print(json.dumps(out))
    """#

    static func send(_ relay: RelayProcess, _ bodies: [String]) throws -> [(Int, String)] {
        let (host, port) = relay.address("submission")
        let json = String(decoding: try JSONSerialization.data(withJSONObject: bodies), as: UTF8.self)
        let out = try python(client, [host, String(port), json], timeout: 60)
        guard let list = (try? JSONSerialization.jsonObject(with: out.stdout)) as? [[Any]] else {
            try? relay.log().write(toFile: "/tmp/limits-relay-crash.log", atomically: true, encoding: .utf8)
            throw HarnessError("client failed: \(String(decoding: out.stdout, as: UTF8.self)) \(out.stderr)")
        }
        return list.map { ($0[0] as? Int ?? 0, $0[1] as? String ?? "") }
    }

    @Test("GTUBE is refused with 550 5.7.1; held instead when a hold score is set, then released into the queue")
    func gtube() throws {
        let rspamd = try RspamdProcess(host: "127.55.2.1")
        defer { rspamd.stop() }
        let address = "\(rspamd.host):\(rspamd.port)"
        let rejecting = try RelayProcess(overlay: ["spamFilter": ["address": address, "rejectScore": 15, "timeoutMillis": 5000]])
        defer { rejecting.cleanUp() }
        let replies = try Self.send(rejecting, ["hello, a normal message", Self.gtube])
        #expect(replies[0].0 == 250)
        #expect(replies[1].0 == 550)
        #expect(replies[1].1.hasPrefix("5.7.1 Message rejected as spam (score 15.00: GTUBE)"))
        #expect(try rejecting.adminJSON("/v1/queue")["count"] as? Int == 1)
        let counters = try rejecting.adminJSON("/v1/limits")["spamFilter"] as? [String: Any]
        #expect(counters?["scored"] as? Int == 2 && counters?["rejected"] as? Int == 1)

        let holding = try RelayProcess(overlay: ["spamFilter": ["address": address, "holdScore": 10, "rejectScore": NSNull(),
                                                                "timeoutMillis": 5000]])
        defer { holding.cleanUp() }
        let held = try Self.send(holding, [Self.gtube])
        #expect(held.map(\.0) == [250])
        let queueID = held[0].1.split(separator: " ").last.map(String.init) ?? ""
        let listed = try holding.adminJSON("/v1/quarantine")["messages"] as? [[String: Any]] ?? []
        #expect(listed.map { $0["id"] as? String } == [queueID])
        #expect(listed.first?["symbols"] as? [String] == ["GTUBE"])
        #expect(try holding.adminJSON("/v1/queue")["count"] as? Int == 0)
        let (adminHost, adminPort) = holding.address("admin")
        let cli = try run(RelayProcess.binary, ["quarantine", "release", queueID, "--admin", "http://\(adminHost):\(adminPort)",
                                                "--token", holding.adminToken])
        #expect(cli.status == 0, "\(String(decoding: cli.stdout, as: UTF8.self)) \(cli.stderr)")
        #expect(try holding.admin("/v1/queue/\(queueID)").0 == 200)
        #expect((try holding.adminJSON("/v1/quarantine")["messages"] as? [Any])?.isEmpty == true)
    }

    @Test("an rspamd that never answers: fail-open accepts after the timeout, fail-closed answers 451")
    func unresponsive() throws {
        // Listens (the kernel completes connections) but never reads or answers.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        let port = try RspamdProcess.bindAny(fd, "127.55.2.2")
        #expect(listen(fd, 16) == 0)
        let filter: [String: Any] = ["address": "127.55.2.2:\(port)", "timeoutMillis": 300]
        let open = try RelayProcess(overlay: ["spamFilter": filter.merging(["failOpen": true]) { $1 }])
        defer { open.cleanUp() }
        let closed = try RelayProcess(overlay: ["spamFilter": filter.merging(["failOpen": false]) { $1 }])
        defer { closed.cleanUp() }
        #expect(try Self.send(open, [Self.gtube]).map(\.0) == [250])
        #expect(open.log().contains("rspamd did not answer in time"))
        let deferred = try Self.send(closed, ["hello"])
        #expect(deferred.map(\.0) == [451])
        #expect(closed.log().contains("rspamd did not answer in time"))
    }
}
