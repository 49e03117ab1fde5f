import Foundation
import Testing

/// The admin API and the operator CLI against a real node.
@Suite("Admin API and operator CLI", .serialized)
struct AdminTests {
    /// Queues one message on the relay port through smtplib and returns its queue id. Throws unless
    /// the script succeeded, DATA got 250 and the reply names a non-empty queue id.
    static func queueOne(_ relay: RelayProcess, to rcpt: String = "x@local.test") throws -> String {
        let script = """
        import smtplib, sys
        s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=30); s.ehlo("a.test")
        s.mail("s@remote.test"); s.rcpt(sys.argv[3]); code, resp = s.data(b"Subject: q\\r\\n\\r\\nx\\r\\n")
        print(code, resp.decode())
        s.quit()
        """
        let out = try python(script, ["127.0.0.1", String(relay.port("relay")), rcpt])
        let text = String(decoding: out.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard out.status == 0, text.hasPrefix("250 "), let range = text.range(of: "queued as ") else {
            throw HarnessError("queueing to \(rcpt) failed (exit \(out.status)): \(text) \(out.stderr)")
        }
        let id = String(text[range.upperBound...]).trimmingCharacters(in: .whitespaces)
        guard !id.isEmpty, !id.contains(" ") else { throw HarnessError("no queue id in the reply: \(text)") }
        return id
    }

    /// Runs an operator command; returns its exit status, stdout and stderr.
    func cli(_ relay: RelayProcess, _ args: [String]) throws -> (Int32, String, String) {
        let (host, port) = relay.address("admin")
        let out = try run(RelayProcess.binary, args + ["--admin", "http://\(host):\(port)", "--token", relay.adminToken])
        return (out.status, String(decoding: out.stdout, as: UTF8.self), out.stderr)
    }

    /// Runs an operator command that must succeed and print a JSON object; returns it.
    func cliJSON(_ relay: RelayProcess, _ args: [String]) throws -> [String: Any] {
        let (status, out, err) = try cli(relay, args)
        guard status == 0, let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any] else {
            throw HarnessError("\(args.joined(separator: " ")) -> exit \(status): \(out) \(err)")
        }
        return obj
    }

    /// Addresses in a `suppression list` answer (which must have the `suppressions` array).
    func suppressed(_ relay: RelayProcess, tenant: String) throws -> [String] {
        let obj = try cliJSON(relay, ["suppression", "list", "--tenant", tenant])
        guard let list = obj["suppressions"] as? [[String: Any]] else { throw HarnessError("no suppressions array: \(obj)") }
        return list.compactMap { $0["address"] as? String }
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
        let list = try cliJSON(relay, ["queue", "list"])
        let ids = (list["messages"] as? [[String: Any]] ?? []).compactMap { $0["queueId"] as? String }
        #expect(ids == [id], "\(list)")
        let show = try cliJSON(relay, ["queue", "show", id])
        #expect(show["queueId"] as? String == id, "\(show)")
        #expect((show["recipients"] as? [[String: Any]])?.compactMap { $0["address"] as? String } == ["x@local.test"], "\(show)")
        let (s3, retry, retryErr) = try cli(relay, ["queue", "retry", id])
        #expect(s3 == 0, "\(retry) \(retryErr)")
        let (s4, del, delErr) = try cli(relay, ["queue", "delete", id])
        #expect(s4 == 0, "\(del) \(delErr)")
        #expect(try relay.admin("/v1/queue/\(id)").0 == 404)
        let after = try cliJSON(relay, ["queue", "list"])
        #expect((after["messages"] as? [[String: Any]])?.isEmpty == true && after["count"] as? Int == 0, "\(after)")
        let failed = try relay.events("type=failed&queueId=\(id)")
        #expect(failed.count == 1 && failed.first?["recipient"] as? String == "x@local.test", "\(failed)")
        let (s5, missing, _) = try cli(relay, ["queue", "show", "NOSUCHID"])
        #expect(s5 == 1 && missing.contains("no message"), "\(missing)")
    }

    @Test("CLI: suppression add/list/remove round trip per tenant")
    func suppression() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        #expect(try suppressed(relay, tenant: "acme").isEmpty)
        let (added, addOut, addErr) = try cli(relay, ["suppression", "add", "Bad@Example.NET", "--tenant", "acme", "--reason", "manual"])
        #expect(added == 0, "\(addOut) \(addErr)")
        #expect(try suppressed(relay, tenant: "acme") == ["bad@example.net"])
        #expect(try suppressed(relay, tenant: "other").isEmpty)
        let (removed, removeOut, removeErr) = try cli(relay, ["suppression", "remove", "bad@example.net", "--tenant", "acme"])
        #expect(removed == 0, "\(removeOut) \(removeErr)")
        #expect(try suppressed(relay, tenant: "acme").isEmpty)
    }

    @Test("CLI: events search by recipient and type")
    func events() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let id = try Self.queueOne(relay, to: "findme@local.test")
        let other = try Self.queueOne(relay, to: "other@local.test")
        #expect(id != other)
        let out = try cliJSON(relay, ["events", "--recipient", "findme@local.test", "--type", "accepted"])
        let events = out["events"] as? [[String: Any]] ?? []
        #expect(events.count == 1, "\(out)")
        #expect(events.first?["queueId"] as? String == id && events.first?["recipient"] as? String == "findme@local.test", "\(out)")
        #expect(events.first?["type"] as? String == "accepted", "\(out)")
        // The other message is there; the filter is what kept it out.
        let all = try cliJSON(relay, ["events", "--type", "accepted"])
        #expect(Set((all["events"] as? [[String: Any]] ?? []).compactMap { $0["queueId"] as? String }) == [id, other], "\(all)")
    }
}
