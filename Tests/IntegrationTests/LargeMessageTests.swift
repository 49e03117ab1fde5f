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
        #expect((refused.first?["msg"] as? String ?? "").hasPrefix("5.3.4"))
        #expect(try relay.events("type=accepted").count == 1)
    }

    @Test("a full spool answers 452 4.3.1, keeps what it acknowledged, and accepts again after space is freed")
    func storageFull() throws {
        let relay = try RelayProcess(overlay: ["spool": ["mapSizeMB": 16]])
        defer { relay.cleanUp() }
        let port = String(relay.port("relay"))
        let out = try python(Self.sender, ["127.0.0.1", port, String(1 << 20), "20"], timeout: 300)
        let results = (try? JSONSerialization.jsonObject(with: out.stdout) as? [[String: Any]]) ?? []
        let accepted = results.filter { $0["ok"] as? Bool == true }.count
        #expect(accepted >= 3 && accepted < 20, "\(String(decoding: out.stdout, as: UTF8.self)) \(out.stderr)")
        #expect(results.contains { $0["code"] as? Int == 452 && ($0["msg"] as? String ?? "").hasPrefix("4.3.1") })
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
        let again = try python(Self.sender, ["127.0.0.1", port, String(1 << 20)], timeout: 120)
        #expect(String(decoding: again.stdout, as: UTF8.self).contains("\"ok\": true"), "\(String(decoding: again.stdout, as: UTF8.self))")
    }
}
