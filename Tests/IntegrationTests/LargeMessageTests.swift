import Foundation
import Testing

/// Big messages and a full spool through the real binary.
@Suite("Large messages and storage limits", .serialized)
struct LargeMessageTests {
    static let sender = """
    import smtplib, sys, hashlib, json
    host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdef\\r\\n"
    out = []
    for i in range(count):
        body = b"Subject: big %d\\r\\n\\r\\n" % i + line * (size // len(line))
        s = smtplib.SMTP(host, port, timeout=120); s.ehlo("big.test")
        try:
            s.sendmail("a@remote.test", ["b@local.test"], body)
            out.append({"ok": True, "sha": hashlib.sha256(body).hexdigest()})
        except smtplib.SMTPResponseException as e:
            out.append({"ok": False, "code": e.smtp_code, "msg": e.smtp_error.decode()})
        except smtplib.SMTPDataError as e:
            out.append({"ok": False, "code": e.smtp_code, "msg": e.smtp_error.decode()})
        try: s.quit()
        except Exception: pass
    print(json.dumps(out))
    """

    @Test("a 30 MB message is accepted and stored byte-exact; one over the 50 MB limit gets 552 5.3.4")
    func bigMessage() throws {
        let relay = try RelayProcess()
        defer { relay.cleanUp() }
        let port = String(relay.port("relay"))
        let ok = try python(Self.sender, ["127.0.0.1", port, String(30 << 20)], timeout: 300)
        let result = (try? JSONSerialization.jsonObject(with: ok.stdout) as? [[String: Any]]) ?? []
        #expect(result.first?["ok"] as? Bool == true, "\(String(decoding: ok.stdout, as: UTF8.self)) \(ok.stderr)")
        let queue = try relay.adminJSON("/v1/queue")
        let id = (queue["messages"] as? [[String: Any]])?.first?["queueId"] as? String ?? ""
        let (status, body) = try relay.admin("/v1/queue/\(id)/body")
        #expect(status == 200)
        let bytes = Array(body)
        if let start = bytes.firstRange(of: Array("Subject: big 0\r\n".utf8))?.lowerBound {
            let hash = try run("/usr/bin/sha256sum", [], stdin: Data(bytes[start...]))
            #expect(String(decoding: hash.stdout, as: UTF8.self).hasPrefix(result.first?["sha"] as? String ?? "-"))
        } else {
            Issue.record("stored body lost its header")
        }
        let big = try python(Self.sender, ["127.0.0.1", port, String(51 << 20)], timeout: 300)
        let refused = (try? JSONSerialization.jsonObject(with: big.stdout) as? [[String: Any]]) ?? []
        #expect(refused.first?["code"] as? Int == 552, "\(String(decoding: big.stdout, as: UTF8.self))")
        let refusal = (refused.first?["msg"] as? String) ?? ""
        #expect(refusal.hasPrefix("5.3.4"), "\(refusal)")
        #expect(try relay.events("type=accepted").count == 1)
    }

    @Test("a full spool (its map at spool.maxMapSizeMB) answers 452 4.3.1, keeps what it acknowledged, and accepts again after space is freed")
    func storageFull() throws {
        let relay = try RelayProcess(overlay: ["spool": ["mapSizeMB": 16, "maxMapSizeMB": 16]])
        defer { relay.cleanUp() }
        let port = String(relay.port("relay"))
        let out = try python(Self.sender, ["127.0.0.1", port, String(1 << 20), "20"], timeout: 300)
        let results = (try? JSONSerialization.jsonObject(with: out.stdout) as? [[String: Any]]) ?? []
        let accepted = results.filter { $0["ok"] as? Bool == true }.count
        #expect(accepted >= 3 && accepted < 20, "\(String(decoding: out.stdout, as: UTF8.self)) \(out.stderr)")
        #expect(results.contains { $0["code"] as? Int == 452 && (($0["msg"] as? String) ?? "").hasPrefix("4.3.1") })
        // The log warned once less than a quarter of the space was left, before the first 452.
        #expect(relay.log().contains("spool.space_low"), "\(relay.log().suffix(2_000))")
        // Every acknowledged message is complete in the queue.
        let queue = try relay.adminJSON("/v1/queue?limit=100")
        let entries = queue["messages"] as? [[String: Any]] ?? []
        #expect(entries.count == accepted)
        // Free space by deleting the queued messages, then a new one fits again.
        for e in entries {
            let id = e["queueId"] as! String
            let (host, adminPort) = relay.address("admin")
            _ = try run("/usr/bin/curl", ["-s", "-X", "DELETE", "-H", "Authorization: Bearer \(relay.adminToken)",
                                          "http://\(host):\(adminPort)/v1/queue/\(id)"])
        }
        // Freed pages are reusable once no read transaction still sees them (a delivery attempt
        // reading a body holds one), and the admission figure refreshes every 200 ms: until then a
        // client gets 452 and retries, as a real one does. Retry for up to 60 s.
        var reply = ""
        for _ in 0..<120 {
            let again = try python(Self.sender, ["127.0.0.1", port, String(1 << 20)], timeout: 120)
            reply = String(decoding: again.stdout, as: UTF8.self)
            if reply.contains("\"ok\": true") || !reply.contains("452") { break }
            usleep(500_000)
        }
        #expect(reply.contains("\"ok\": true"), "\(reply)")
    }

    static let budgetScenario = """
    import smtplib, sys, json, time, urllib.request
    host, port, admin, token = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    def in_use():
        req = urllib.request.Request("http://%s/health" % admin, headers={"Authorization": "Bearer " + token})
        return json.load(urllib.request.urlopen(req))["bodyMemory"]["inUseBytes"]
    line = b"x" * 78 + b"\\r\\n"
    out = {}
    holder = smtplib.SMTP(host, port, timeout=60); holder.ehlo("holder.test")
    holder.mail("a@remote.test"); holder.rcpt("b@local.test")
    out["data"] = holder.docmd("DATA")[0]
    holder.send(b"Subject: held\\r\\n\\r\\n" + line * (900 * 1024 // 80))
    # Wait until the server holds the whole body: 921,617 bytes reserve 15 steps of 64 KiB (of 16).
    deadline = time.time() + 30
    while in_use() < 15 * 65536 and time.time() < deadline:
        time.sleep(0.02)
    out["held"] = in_use()
    other = smtplib.SMTP(host, port, timeout=60); other.ehlo("other.test")
    body = b"Subject: other\\r\\n\\r\\n" + line * (300 * 1024 // 80)
    try:
        other.sendmail("c@remote.test", ["d@local.test"], body); out["first"] = [250, ""]
    except smtplib.SMTPDataError as e:
        out["first"] = [e.smtp_code, e.smtp_error.decode()]
    holder.send(b".\\r\\n")
    out["holder"] = list(holder.getreply()); out["holder"][1] = out["holder"][1].decode()
    out["released"] = in_use()
    other.sendmail("c@remote.test", ["d@local.test"], body); out["retry"] = 250
    out["after"] = in_use()
    holder.quit(); other.quit()
    print(json.dumps(out))
    """

    @Test("limits.messageMemoryMB: while one client holds most of the body memory, another's message gets 452 4.3.1 and succeeds on retry; /health shows the memory in use")
    func bodyMemoryBudget() throws {
        let relay = try RelayProcess(overlay: ["limits": ["messageMemoryMB": 1, "maxMessageSize": 1_000_000]])
        defer { relay.cleanUp() }
        let (adminHost, adminPort) = relay.address("admin")
        let out = try python(Self.budgetScenario, ["127.0.0.1", String(relay.port("relay")), "\(adminHost):\(adminPort)",
                                                   relay.adminToken], timeout: 120)
        let text = String(decoding: out.stdout, as: UTF8.self)
        let result = (try? JSONSerialization.jsonObject(with: out.stdout) as? [String: Any]) ?? [:]
        #expect(result["data"] as? Int == 354, "\(text) \(out.stderr)")
        #expect((result["held"] as? Int ?? 0) == 15 * 65536, "\(text)")
        let first = result["first"] as? [Any] ?? []
        #expect(first.first as? Int == 452, "\(text)")
        #expect(((first.last as? String) ?? "").hasPrefix("4.3.1"), "\(text)")
        let holder = result["holder"] as? [Any] ?? []
        #expect(holder.first as? Int == 250, "\(text)")
        #expect(result["released"] as? Int == 0, "\(text)")
        #expect(result["retry"] as? Int == 250, "\(text) \(out.stderr)")
        #expect(result["after"] as? Int == 0, "\(text)")
        #expect(try relay.events("type=accepted").count == 2)
    }
}
