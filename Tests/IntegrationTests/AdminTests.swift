import Foundation
import Testing

/// The admin API and the operator CLI against a real node.
@Suite("Admin API and operator CLI", .serialized)
struct AdminTests {
    /// Queues one message on the relay port through smtplib and returns its queue id.
    static func queueOne(_ relay: RelayProcess, to rcpt: String = "x@local.test") throws -> String {
        let script = """
        import smtplib, sys
        s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=30); s.ehlo("a.test")
        s.mail("s@remote.test"); s.rcpt(sys.argv[3]); code, resp = s.data(b"Subject: q\\r\\n\\r\\nx\\r\\n")
        print(resp.decode().rsplit(" ", 1)[-1])
        """
        let out = try python(script, ["127.0.0.1", String(relay.port("relay")), rcpt])
        return String(decoding: out.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func cli(_ relay: RelayProcess, _ args: [String]) throws -> (Int32, String) {
        let (host, port) = relay.address("admin")
        let out = try run(RelayProcess.binary, args + ["--admin", "http://\(host):\(port)", "--token", relay.adminToken])
        return (out.status, String(decoding: out.stdout, as: UTF8.self) + out.stderr)
    }

    @Test("a wrong or missing bearer token gets 401; /health needs none")
    func tokens() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        #expect(try relay.admin("/v1/queue", token: "wrong").0 == 401)
        #expect(try relay.admin("/health", token: "").0 == 200)
        #expect(try relay.admin("/v1/nothing").0 == 404)
        #expect(try relay.admin("/v1/events?type=bogus").0 == 400)
    }

    @Test("CLI: queue list/show, delete records 'failed' events and empties the queue")
    func queueCommands() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let id = try Self.queueOne(relay)
        let (s1, list) = try cli(relay, ["queue", "list"])
        #expect(s1 == 0 && list.contains(id), "\(list)")
        let (s2, show) = try cli(relay, ["queue", "show", id])
        #expect(s2 == 0 && show.contains("x@local.test"), "\(show)")
        let (s3, _) = try cli(relay, ["queue", "retry", id])
        #expect(s3 == 0)
        let (s4, del) = try cli(relay, ["queue", "delete", id])
        #expect(s4 == 0, "\(del)")
        #expect(try relay.admin("/v1/queue/\(id)").0 == 404)
        #expect(try relay.events("type=failed&queueId=\(id)").count == 1)
        let (s5, missing) = try cli(relay, ["queue", "show", "NOSUCHID"])
        #expect(s5 == 1 && missing.contains("no message"), "\(missing)")
    }

    @Test("CLI: suppression add/list/remove round trip per tenant")
    func suppression() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        #expect(try cli(relay, ["suppression", "add", "Bad@Example.NET", "--tenant", "acme", "--reason", "manual"]).0 == 0)
        let (_, listed) = try cli(relay, ["suppression", "list", "--tenant", "acme"])
        #expect(listed.contains("bad@example.net"), "\(listed)")
        let (_, other) = try cli(relay, ["suppression", "list", "--tenant", "other"])
        #expect(!other.contains("bad@example.net"))
        #expect(try cli(relay, ["suppression", "remove", "bad@example.net", "--tenant", "acme"]).0 == 0)
        let (_, after) = try cli(relay, ["suppression", "list", "--tenant", "acme"])
        #expect(!after.contains("bad@example.net"), "\(after)")
    }

    @Test("CLI: events search by recipient and type")
    func events() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let id = try Self.queueOne(relay, to: "findme@local.test")
        _ = try Self.queueOne(relay, to: "other@local.test")
        let (status, out) = try cli(relay, ["events", "--recipient", "findme@local.test", "--type", "accepted"])
        #expect(status == 0)
        #expect(out.contains(id) && !out.contains("other@local.test"), "\(out)")
    }
}
