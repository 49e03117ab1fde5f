import Foundation
import Testing
import TestSupport

/// Sending domains through the binary: add → records to publish → verify against an independent
/// DNS server (dnspython) → mail signed with RSA and Ed25519, checked by dkimpy against the
/// published records; a withdrawn record makes the domain failing and signing stop; sender policy
/// refuses unverified domains (swaks).
@Suite("Sending domains and DKIM through the binary", .serialized)
struct SendingDomainTests {
    /// Sends one message over STARTTLS + AUTH; prints `code text` of the final reply (or the error).
    static let sender = #"""
    import smtplib, ssl, sys
    host, port, mail_from, header_from = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP(host, port, timeout=30); s.ehlo("client.test"); s.starttls(context=ctx); s.ehlo("client.test")
    s.login("alice", "s3cret-pass")
    msg = ("From: App <%s>\r\nTo: user@dest.test\r\nSubject: Signed?\r\nMessage-ID: <%s@client.test>\r\n"
           "Date: Fri, 04 Dec 2026 22:00:00 +0000\r\n\r\nHello,\r\n\r\nthe body.\r\n" % (header_from, port)).encode()
    try:
        s.mail(mail_from)
        s.rcpt("user@dest.test")
        code, text = s.data(msg)
        print(code, text.decode())
    except smtplib.SMTPResponseException as e:
        print(e.smtp_code, e.smtp_error.decode())
    s.quit()
    """#

    /// Verifies every DKIM-Signature of the file argv[1] with dkimpy, looking keys up at the
    /// dnspython server on 127.0.0.1:argv[2] (never the system resolver). Prints one word each.
    static let verifier = #"""
    import sys, dkim, dns.message, dns.query, dns.rdatatype
    port = int(sys.argv[2])
    def dnsfunc(name, timeout=5):
        q = dns.message.make_query(name.decode().rstrip('.') + '.', dns.rdatatype.TXT)
        r = dns.query.udp(q, '127.0.0.1', port=port, timeout=timeout)
        for rrset in r.answer:
            for rd in rrset:
                return b''.join(rd.strings)
        return None
    msg = open(sys.argv[1], 'rb').read()
    d = dkim.DKIM(msg)
    sigs = [h for h in d.headers if h[0].lower() == b'dkim-signature']
    out = []
    for i in range(len(sigs)):
        try:
            ok = d.verify(idx=i, dnsfunc=dnsfunc)
        except dkim.DKIMException:
            ok = False
        out.append('pass' if ok else 'fail')
    print(' '.join(out) or 'unsigned')
    """#

    static func request(_ relay: RelayProcess, _ method: String, _ path: String, _ body: [String: Any]? = nil) throws -> (Int, [String: Any]) {
        let (host, port) = relay.address("admin")
        var args = ["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, "-H", "Authorization: Bearer \(relay.adminToken)"]
        if let body {
            args += ["-H", "Content-Type: application/json", "--data-binary",
                     String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)]
        }
        let out = try run("/usr/bin/curl", args + ["http://\(host):\(port)\(path)"])
        let bytes = Array(out.stdout)
        guard let nl = bytes.lastIndex(of: 0x0A) else { throw HarnessError("no status from curl: \(out.stderr)") }
        let status = Int(String(decoding: bytes[(nl + 1)...], as: UTF8.self)) ?? 0
        let obj = (try? JSONSerialization.jsonObject(with: Data(bytes[..<nl]))) as? [String: Any] ?? [:]
        return (status, obj)
    }

    /// Submits; returns the reply and, when queued, the stored message bytes.
    static func submit(_ relay: RelayProcess, from: String, headerFrom: String? = nil) throws -> (reply: String, stored: Data?) {
        let (host, port) = relay.address("submission")
        let out = try python(sender, [host, String(port), from, headerFrom ?? from])
        let reply = String(decoding: out.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard reply.hasPrefix("250"), let id = reply.components(separatedBy: "queued as ").last else { return (reply + out.stderr, nil) }
        let (status, body) = try relay.admin("/v1/queue/\(id)/body")
        return (reply, status == 200 ? body : nil)
    }

    static func verify(_ message: Data, dnsPort: UInt16) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sx-dkim-\(UUID().uuidString).eml").path
        try message.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let out = try python(verifier, [path, String(dnsPort)])
        return String(decoding: out.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) + out.stderr
    }

    static func dkimRecords(_ domain: [String: Any]) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for r in domain["records"] as? [[String: Any]] ?? [] where r["purpose"] as? String == "dkim" {
            out["\(r["name"] as! String). TXT"] = [DnspythonServer.txt(r["value"] as! String)]
        }
        return out
    }

    @Test("add → pending; records published → verified and both signatures verify with dkimpy; record withdrawn → failing, event, unsigned; enforce refuses other domains with 550 5.7.1 (swaks)")
    func lifecycle() throws {
        let base = ["mail.example.test. A": ["127.0.0.9"]]
        let dns = try DnspythonServer(records: base)
        defer { dns.stop() }
        let relay = try RelayProcess(overlay: ["resolver": ["nameservers": ["127.0.0.1:\(dns.port)"], "timeoutMs": 2000]])
        defer { relay.cleanUp() }

        // Add: two keys, records to publish, pending.
        let (created, domain) = try Self.request(relay, "POST", "/v1/domains", ["domain": "Mail.Example.Test", "tenant": "acme"])
        #expect(created == 201, "\(domain)")
        #expect(domain["domain"] as? String == "mail.example.test")
        #expect(domain["status"] as? String == "pending")
        let keys = domain["keys"] as? [[String: Any]] ?? []
        #expect(Set(keys.compactMap { $0["algorithm"] as? String }) == ["rsa", "ed25519"])
        let records = domain["records"] as? [[String: Any]] ?? []
        #expect(Set(records.compactMap { $0["purpose"] as? String }) == ["dkim", "spf", "dmarc", "return-path"])
        #expect(!String(describing: domain).contains("sealed") && !String(describing: domain).lowercased().contains("private"))
        let (duplicate, _) = try Self.request(relay, "POST", "/v1/domains", ["domain": "mail.example.test", "tenant": "acme"])
        #expect(duplicate == 400)

        // Pending: not signed.
        let before = try Self.submit(relay, from: "app@mail.example.test")
        #expect(before.reply.hasPrefix("250"), "\(before.reply)")
        #expect(try Self.verify(try #require(before.stored), dnsPort: dns.port) == "unsigned")

        // Verify without records: still pending, with the reason.
        let (s1, still) = try Self.request(relay, "POST", "/v1/domains/mail.example.test/verify")
        #expect(s1 == 200 && still["status"] as? String == "pending", "\(still)")
        #expect((still["statusReason"] as? String ?? "").contains("no DKIM record at"))

        // Publish both DKIM records: verified.
        var published = base
        for (k, v) in Self.dkimRecords(domain) { published[k] = v }
        try dns.update(published)
        let (s2, verified) = try Self.request(relay, "POST", "/v1/domains/mail.example.test/verify")
        #expect(s2 == 200 && verified["status"] as? String == "verified", "\(verified)")
        #expect(try relay.events("type=domain.verified").count == 1)

        // Signed twice; dkimpy verifies both against the published records.
        let signed = try Self.submit(relay, from: "app@mail.example.test")
        let stored = try #require(signed.stored)
        #expect(try Self.verify(stored, dnsPort: dns.port) == "pass pass")
        let text = String(decoding: stored, as: UTF8.self)
        #expect(text.components(separatedBy: "DKIM-Signature:").count == 3)
        #expect(text.contains("a=rsa-sha256") && text.contains("a=ed25519-sha256") && text.contains("c=relaxed/relaxed"))
        #expect(!text.contains(" l="))
        // Altered in transit: a header added, or a body byte changed.
        let withHeader = Data(("Subject: changed\r\n" + text).utf8)
        #expect(try Self.verify(withHeader, dnsPort: dns.port) == "fail fail")
        let changedBody = Data(text.replacingOccurrences(of: "the body.", with: "the bodY.").utf8)
        #expect(try Self.verify(changedBody, dnsPort: dns.port) == "fail fail")

        // Sender policy: enforce refuses a domain that is not the tenant's, at the end of DATA.
        let (sp, policy) = try Self.request(relay, "PUT", "/v1/tenants/acme", ["senderPolicy": "enforce"])
        #expect(sp == 200 && policy["senderPolicy"] as? String == "enforce")
        let swaks = try run("/usr/bin/swaks", ["--server", "127.0.0.1:\(relay.port("submission"))", "--tls",
                                               "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "s3cret-pass",
                                               "--from", "app@other.test", "--to", "user@dest.test",
                                               "--h-From", "app@other.test"])
        let swaksText = String(decoding: swaks.stdout, as: UTF8.self)
        #expect(swaksText.contains("<~* 550 5.7.1") && swaksText.contains("other.test"), "\(swaksText)")
        let allowed = try Self.submit(relay, from: "news@mail.example.test")
        #expect(allowed.reply.hasPrefix("250"), "\(allowed.reply)")
        // A subdomain counts (allowSubdomains is on by default) and is signed with d= the parent.
        let sub = try Self.submit(relay, from: "a@eu.mail.example.test")
        #expect(sub.reply.hasPrefix("250"), "\(sub.reply)")
        #expect(String(decoding: try #require(sub.stored), as: UTF8.self).contains("d=mail.example.test"))
        // The header From is checked too.
        let mixed = try Self.submit(relay, from: "app@mail.example.test", headerFrom: "ceo@bank.test")
        #expect(mixed.reply.hasPrefix("550 5.7.1") && mixed.reply.contains("bank.test"), "\(mixed.reply)")

        // Withdraw the records: failing, an event, and no more signatures.
        try dns.update(base)
        let (s3, failing) = try Self.request(relay, "POST", "/v1/domains/mail.example.test/verify")
        #expect(s3 == 200 && failing["status"] as? String == "failing", "\(failing)")
        let events = try relay.events("type=domain.failing")
        #expect(events.count == 1 && (events.first?["response"] as? String ?? "").contains("no DKIM record"))
        #expect(try Self.request(relay, "PUT", "/v1/tenants/acme", ["senderPolicy": "sign-only"]).0 == 200)
        let after = try Self.submit(relay, from: "app@mail.example.test")
        #expect(try Self.verify(try #require(after.stored), dnsPort: dns.port) == "unsigned")
    }

    @Test("keys survive a restart; rotation publishes new selectors that take over once found, the old ones retire; remove stops signing")
    func restartRotateRemove() throws {
        let base = ["rot.example.test. A": ["127.0.0.9"]]
        let dns = try DnspythonServer(records: base)
        defer { dns.stop() }
        let relay = try RelayProcess(overlay: ["resolver": ["nameservers": ["127.0.0.1:\(dns.port)"], "timeoutMs": 2000]])
        defer { relay.cleanUp() }
        let (_, domain) = try Self.request(relay, "POST", "/v1/domains", ["domain": "rot.example.test", "tenant": "acme"])
        var published = base
        for (k, v) in Self.dkimRecords(domain) { published[k] = v }
        try dns.update(published)
        #expect(try Self.request(relay, "POST", "/v1/domains/rot.example.test/verify").1["status"] as? String == "verified")

        // Restart: the sealed keys still open and sign.
        relay.stop()
        try relay.launch()
        let signed = try Self.submit(relay, from: "a@rot.example.test")
        #expect(try Self.verify(try #require(signed.stored), dnsPort: dns.port) == "pass pass")

        // Rotate: next keys published alongside; until their records are found the old keys sign.
        let (rs, rotating) = try Self.request(relay, "POST", "/v1/domains/rot.example.test/rotate")
        #expect(rs == 200)
        let states = (rotating["keys"] as? [[String: Any]] ?? []).compactMap { $0["state"] as? String }
        #expect(states.sorted() == ["active", "active", "next", "next"])
        #expect(try Self.request(relay, "POST", "/v1/domains/rot.example.test/verify").1["status"] as? String == "verified")
        let oldSelectors = Set((domain["keys"] as? [[String: Any]] ?? []).compactMap { $0["selector"] as? String })
        let midway = String(decoding: try #require(try Self.submit(relay, from: "a@rot.example.test").stored), as: UTF8.self)
        #expect(oldSelectors.allSatisfy { midway.contains("s=\($0)") })
        for (k, v) in Self.dkimRecords(rotating) { published[k] = v }
        try dns.update(published)
        let (_, rotated) = try Self.request(relay, "POST", "/v1/domains/rot.example.test/verify")
        let after = (rotated["keys"] as? [[String: Any]] ?? []).map { ($0["selector"] as? String ?? "", $0["state"] as? String ?? "") }
        #expect(after.filter { oldSelectors.contains($0.0) }.allSatisfy { $0.1 == "retired" })
        #expect(after.filter { !oldSelectors.contains($0.0) }.allSatisfy { $0.1 == "active" })
        let newMail = try #require(try Self.submit(relay, from: "a@rot.example.test").stored)
        let newText = String(decoding: newMail, as: UTF8.self)
        #expect(oldSelectors.allSatisfy { !newText.contains("s=\($0)") })
        #expect(try Self.verify(newMail, dnsPort: dns.port) == "pass pass")
        // Mail signed before the rotation still verifies: the old records stay published.
        #expect(try Self.verify(try #require(signed.stored), dnsPort: dns.port) == "pass pass")
        #expect(try relay.events("type=domain.keys_rotated").count == 1)

        // Remove: no more signatures, 404 afterwards.
        #expect(try Self.request(relay, "DELETE", "/v1/domains/rot.example.test").0 == 200)
        #expect(try Self.request(relay, "GET", "/v1/domains/rot.example.test").0 == 404)
        let unsigned = try #require(try Self.submit(relay, from: "a@rot.example.test").stored)
        #expect(try Self.verify(unsigned, dnsPort: dns.port) == "unsigned")
    }
}

/// Sending domains inside the node's own DNS zone publish themselves.
@Suite("Sending domains in the built-in zone")
struct SendingDomainZoneTests {
    @Test("a domain inside dns.zone: its DKIM, SPF, DMARC and return-path records are served (dig), and verify finds them")
    func builtInZone() throws {
        let dnsPort = try SinkProcess.freePort()
        let relay = try RelayProcess(overlay: [
            "listen": ["dns": ["127.0.0.1:\(dnsPort)"]],
            "dns": ["zone": "relay.test", "ingressName": "smtp.relay.test", "ttl": 60, "rateLimit": ["enabled": false]],
            "resolver": ["nameservers": ["127.0.0.1:\(dnsPort)"], "timeoutMs": 2000],
        ])
        defer { relay.cleanUp() }
        let (status, domain) = try SendingDomainTests.request(relay, "POST", "/v1/domains", ["domain": "news.relay.test", "tenant": "acme"])
        #expect(status == 201, "\(domain)")
        let dkim = (domain["records"] as? [[String: Any]] ?? []).filter { $0["purpose"] as? String == "dkim" }
        #expect(dkim.count == 2)
        func dig(_ name: String, _ type: String) throws -> String {
            let out = try run("/usr/bin/dig", ["@127.0.0.1", "-p", "\(dnsPort)", "+short", "+tcp", name, type])
            return String(decoding: out.stdout, as: UTF8.self)
        }
        // Published within the zone refresh (every second).
        var served = ""
        let deadline = Date().addingTimeInterval(10)
        repeat {
            served = try dig(dkim[0]["name"] as! String, "TXT")
            if !served.isEmpty { break }
            usleep(100_000)
        } while Date() < deadline
        let value = dkim[0]["value"] as! String
        #expect(served.replacingOccurrences(of: "\" \"", with: "").contains(String(value.suffix(40))), "\(served)")
        #expect(try dig("news.relay.test", "TXT").contains("v=spf1 include:relay.test ~all"))
        #expect(try dig("_dmarc.news.relay.test", "TXT").contains("v=DMARC1"))
        #expect(try dig("bounces.news.relay.test", "MX").contains("smtp.relay.test."))
        // The apex keeps its own SPF record.
        #expect(try dig("relay.test", "TXT").contains("v=spf1 ip4:127.0.0.1"))
        let (vs, verified) = try SendingDomainTests.request(relay, "POST", "/v1/domains/news.relay.test/verify")
        #expect(vs == 200 && verified["status"] as? String == "verified", "\(verified)")
    }
}

/// Sending domains in a 3-node cluster: the registry is replicated.
@Suite("Sending domains in a cluster", .serialized)
struct SendingDomainClusterTests {
    static let ips = ["127.0.40.1", "127.0.40.2", "127.0.40.3"]

    @Test("a domain added and verified on one node signs on every node; a node killed and restarted keeps the keys")
    func replicated() throws {
        let base = ["c.example.test. A": ["127.0.0.9"]]
        let dns = try DnspythonServer(records: base)
        defer { dns.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-domains-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let nodes = try ClusterRaftTests.startCluster(dir, ips: Self.ips, extra: [
            "resolver": ["nameservers": ["127.0.0.1:\(dns.port)"], "timeoutMs": 2000],
        ])
        defer { for n in nodes { n.cleanUp() } }
        #expect(ClusterRaftTests.waitFor(30) { ClusterRaftTests.leader(nodes) != nil })

        // Added on n1 (a follower forwards the proposal), published, verified on n2.
        var added: (Int, [String: Any]) = (0, [:])
        #expect(ClusterRaftTests.waitFor(30) {
            added = (try? SendingDomainTests.request(nodes[0], "POST", "/v1/domains", ["domain": "c.example.test", "tenant": "acme"])) ?? (0, [:])
            return added.0 == 201
        }, "\(added)")
        var published = base
        for (k, v) in SendingDomainTests.dkimRecords(added.1) { published[k] = v }
        try dns.update(published)
        #expect(try SendingDomainTests.request(nodes[1], "POST", "/v1/domains/c.example.test/verify").1["status"] as? String == "verified")

        // Every node signs (each reads its own applied copy of the registry).
        for node in nodes {
            var last = ""
            #expect(ClusterRaftTests.waitFor(10) {
                guard let sent = try? SendingDomainTests.submit(node, from: "a@c.example.test") else { return false }
                guard let stored = sent.stored else {
                    last = sent.reply
                    return false
                }
                last = (try? SendingDomainTests.verify(stored, dnsPort: dns.port)) ?? "verifier failed"
                return last == "pass pass"
            }, "\(node.dataDir): \(last)")
        }

        // n3 killed and restarted: its keys are still there and still sign.
        nodes[2].kill9()
        try nodes[2].launch()
        var after = ""
        #expect(ClusterRaftTests.waitFor(30) {
            guard let stored = (try? SendingDomainTests.submit(nodes[2], from: "b@c.example.test"))?.stored else { return false }
            after = (try? SendingDomainTests.verify(stored, dnsPort: dns.port)) ?? ""
            return after == "pass pass"
        }, "\(after)")
        #expect(try SendingDomainTests.request(nodes[2], "GET", "/v1/domains/c.example.test").1["status"] as? String == "verified")
    }
}
