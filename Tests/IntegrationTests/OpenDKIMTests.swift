import Foundation
import Glibc
import Testing
import TestSupport

/// Interoperability with OpenDKIM 2.11 (Debian), an implementation independent of Sendarix and of
/// dkimpy: `opendkim-testkey` reads the records a sending domain publishes, and a verifying
/// opendkim milter in front of a private Postfix judges the signatures of mail Sendarix delivered
/// there. DNS is a dnspython server on 127.0.0.1; OpenDKIM's resolver is pointed only at it.
@Suite("OpenDKIM interoperability", .serialized)
struct OpenDKIMTests {
    /// Submits one message over STARTTLS + AUTH: argv host port mail_from rcpt subject.
    static let sender = #"""
    import smtplib, ssl, sys
    host, port, mail_from, rcpt, subject = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP(host, port, timeout=30); s.ehlo("client.test"); s.starttls(context=ctx); s.ehlo("client.test")
    s.login("alice", "s3cret-pass")
    msg = ("From: App <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@client.test>\r\n"
           "Date: Fri, 04 Dec 2026 22:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
           "Hello,\r\n\r\n  the body,   with  spaces \t\r\nand a last line.\r\n\r\n\r\n" % (mail_from, rcpt, subject, subject)).encode()
    s.sendmail(mail_from, [rcpt], msg)
    s.quit()
    print("sent")
    """#

    /// Sends the file argv[3] as it is to an SMTP server without TLS: argv host port file rcpt.
    static let rawSender = #"""
    import smtplib, sys
    host, port, path, rcpt = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    s = smtplib.SMTP(host, port, timeout=30); s.ehlo("resender.test")
    s.sendmail("app@mail.example.test", [rcpt], open(path, "rb").read())
    s.quit()
    print("sent")
    """#

    /// Adds `name` (optionally importing `pem` under `selector`), publishes its DKIM records in
    /// `dns` (on top of `records`) and verifies it. Returns the domain as the API shows it.
    static func addVerifiedDomain(_ relay: RelayProcess, _ dns: DnspythonServer, _ name: String,
                                  records: inout [String: [String]], pem: String? = nil, selector: String? = nil) throws -> [String: Any] {
        var body: [String: Any] = ["domain": name, "tenant": "acme"]
        if let pem { body["privateKey"] = pem }
        if let selector { body["selector"] = selector }
        let (status, domain) = try SendingDomainTests.request(relay, "POST", "/v1/domains", body)
        guard status == 201 else { throw HarnessError("POST /v1/domains \(name): \(status) \(domain)") }
        for (k, v) in SendingDomainTests.dkimRecords(domain) { records[k] = v }
        try dns.update(records)
        let (vs, verified) = try SendingDomainTests.request(relay, "POST", "/v1/domains/\(name)/verify")
        guard vs == 200, verified["status"] as? String == "verified" else { throw HarnessError("verify \(name): \(vs) \(verified)") }
        return domain
    }

    static func selector(_ domain: [String: Any], _ algorithm: String) -> String? {
        (domain["keys"] as? [[String: Any]] ?? []).first { $0["algorithm"] as? String == algorithm }?["selector"] as? String
    }

    /// The header block of a stored message, unfolded, one field a line.
    static func headerFields(_ message: String) -> [String] {
        let text = message.replacingOccurrences(of: "\r\n", with: "\n")
        let head = text.components(separatedBy: "\n\n").first ?? ""
        var fields: [String] = []
        for line in head.split(separator: "\n", omittingEmptySubsequences: false) {
            if let first = line.first, first == " " || first == "\t", !fields.isEmpty {
                fields[fields.count - 1] += " " + line.trimmingCharacters(in: .whitespaces)
            } else {
                fields.append(String(line))
            }
        }
        return fields
    }

    /// The DKIM results the milter recorded (its `Authentication-Results: verifier.test;` fields):
    /// each `dkim=` clause's result, keyed by the clause's `header.s=` selector. Comments in
    /// parentheses ("(2048-bit key; unprotected)") are dropped first: they may hold semicolons.
    static func dkimResults(_ message: String) -> [String: String] {
        var out: [String: String] = [:]
        for field in headerFields(message) where field.lowercased().hasPrefix("authentication-results: verifier.test") {
            var plain = ""
            var depth = 0
            for c in field {
                if c == "(" { depth += 1 } else if c == ")" { depth = max(0, depth - 1) } else if depth == 0 { plain.append(c) }
            }
            for clause in plain.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) where clause.hasPrefix("dkim=") {
                let result = String(clause.dropFirst(5).prefix { $0 != " " })
                let selector = clause.split(separator: " ").first { $0.hasPrefix("header.s=") }.map { String($0.dropFirst(9)) } ?? "?"
                out[selector] = result
            }
        }
        return out
    }

    @Test("opendkim-testkey reads the published RSA and Ed25519 records as valid keys; an imported RSA key matches its record (-k); a wrong key, an unpublished selector and a damaged record are refused")
    func testkey() throws {
        var records = ["mail.example.test. A": ["127.0.0.9"]]
        let dns = try DnspythonServer(records: records)
        defer { dns.stop() }
        let relay = try RelayProcess(overlay: ["resolver": ["nameservers": ["127.0.0.1:\(dns.port)"], "timeoutMs": 2000]])
        defer { relay.cleanUp() }

        // Generated keys: both records parse as keys OpenDKIM can use.
        let generated = try Self.addVerifiedDomain(relay, dns, "mail.example.test", records: &records)
        let rsa = try #require(Self.selector(generated, "rsa"))
        let ed = try #require(Self.selector(generated, "ed25519"))
        for sel in [rsa, ed] {
            let out = try OpenDKIMMilter.testkey(domain: "mail.example.test", selector: sel, dnsPort: dns.port)
            #expect(out.status == 0 && out.output.contains("key OK"), "\(sel): \(out.status) \(out.output)")
        }
        // The lookups went to the test's DNS server.
        #expect(dns.queries.contains("udp TXT \(rsa)._domainkey.mail.example.test."), "\(dns.queries)")
        #expect(dns.queries.contains("udp TXT \(ed)._domainkey.mail.example.test."), "\(dns.queries)")

        // An imported key (from another MTA): the record Sendarix publishes matches the private key.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-odk-keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["imported", "other"] {
            let gen = try run("/usr/bin/openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                                                   "-out", "\(dir)/\(name).pem"], timeout: 60)
            #expect(gen.status == 0, "\(gen.stderr)")
            chmod("\(dir)/\(name).pem", 0o600) // opendkim-testkey complains about readable keys
        }
        let pem = try String(contentsOfFile: dir + "/imported.pem", encoding: .utf8)
        let imported = try Self.addVerifiedDomain(relay, dns, "imported.example.test", records: &records, pem: pem, selector: "legacy2026")
        #expect(Self.selector(imported, "rsa") == "legacy2026")
        let match = try OpenDKIMMilter.testkey(domain: "imported.example.test", selector: "legacy2026",
                                               keyFile: dir + "/imported.pem", dnsPort: dns.port)
        #expect(match.status == 0 && match.output.contains("key OK"), "\(match.status) \(match.output)")

        // Refusals: another private key, a selector nobody published, a record with a damaged key.
        let wrongKey = try OpenDKIMMilter.testkey(domain: "imported.example.test", selector: "legacy2026",
                                                  keyFile: dir + "/other.pem", dnsPort: dns.port)
        #expect(wrongKey.status != 0 && wrongKey.output.contains("keys do not match"), "\(wrongKey.status) \(wrongKey.output)")
        let missing = try OpenDKIMMilter.testkey(domain: "mail.example.test", selector: "nosuch", dnsPort: dns.port)
        #expect(missing.status != 0 && missing.output.contains("record not found"), "\(missing.status) \(missing.output)")
        let rsaName = "\(rsa)._domainkey.mail.example.test. TXT"
        var damaged = records
        damaged[rsaName] = [DnspythonServer.txt("v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0aU7kFLHl")]
        try dns.update(damaged)
        let bad = try OpenDKIMMilter.testkey(domain: "mail.example.test", selector: rsa, dnsPort: dns.port)
        #expect(bad.status != 0 && !bad.output.contains("key OK"), "\(bad.status) \(bad.output)")
    }

    @Test("Sendarix → Postfix with a verifying opendkim milter: Authentication-Results has dkim=pass for the RSA and the Ed25519 signature; the same message altered (body, Subject) and resent fails both, unaltered it passes")
    func milterVerifies() throws {
        var records = ["mail.example.test. A": ["127.0.0.9"]]
        let dns = try DnspythonServer(records: records)
        defer { dns.stop() }
        let milter = try OpenDKIMMilter(dnsPort: dns.port)
        defer { milter.stop() }
        let postfix = try MilterPostfix(domain: "pf.test", milterPort: milter.port)
        defer { postfix.stop() }
        let relay = try RelayProcess(overlay: [
            "resolver": ["nameservers": ["127.0.0.1:\(dns.port)"], "timeoutMs": 2000],
            "delivery": ["enabled": true, "retrySchedule": [2, 30]],
            "routes": [["domain": "pf.test", "hosts": ["127.0.0.1:\(postfix.port)"], "tls": "none"]],
        ])
        defer { relay.cleanUp() }
        let domain = try Self.addVerifiedDomain(relay, dns, "mail.example.test", records: &records)
        let rsa = try #require(Self.selector(domain, "rsa"))
        let ed = try #require(Self.selector(domain, "ed25519"))

        // Signed by Sendarix, delivered by Sendarix's engine to Postfix, judged by opendkim.
        let out = try python(Self.sender, ["127.0.0.1", String(relay.port("submission")), "app@mail.example.test",
                                           "bob@pf.test", "interop"])
        #expect(out.status == 0, "\(out.stderr)")
        let delivered = try #require(postfix.waitForMessage(to: "bob@pf.test"),
                                     "nothing delivered:\n\(relay.log().suffix(2000))\n\(postfix.log)\n\(milter.output)")
        let results = Self.dkimResults(delivered)
        #expect(results == [rsa: "pass", ed: "pass"], "\(Self.headerFields(delivered).filter { $0.hasPrefix("Authentication-Results") })")
        #expect(dns.queries.contains("udp TXT \(ed)._domainkey.mail.example.test."))

        // The message as Sendarix sent it: everything from its first DKIM-Signature on (what lies
        // above was added on the way: Postfix's Delivered-To, Received, the milter's result).
        let text = delivered.replacingOccurrences(of: "\r\n", with: "\n")
        let start = try #require(text.range(of: "DKIM-Signature:"))
        let original = String(text[start.lowerBound...])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sx-odk-\(UUID().uuidString).eml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let variants = [
            ("same@pf.test", original),
            ("body@pf.test", original.replacingOccurrences(of: "and a last line.", with: "and a last line!")),
            ("subject@pf.test", original.replacingOccurrences(of: "Subject: interop", with: "Subject: interop (forwarded)")),
        ]
        #expect(Set(variants.map(\.1)).count == 3, "an alteration did not apply")
        for (rcpt, message) in variants {
            try Data(message.replacingOccurrences(of: "\n", with: "\r\n").utf8).write(to: URL(fileURLWithPath: path))
            let sent = try python(Self.rawSender, ["127.0.0.1", String(postfix.port), path, rcpt])
            #expect(sent.status == 0, "\(sent.stderr)")
        }
        let same = try #require(postfix.waitForMessage(to: "same@pf.test"), "\(postfix.log)")
        #expect(Self.dkimResults(same) == [rsa: "pass", ed: "pass"])
        for rcpt in ["body@pf.test", "subject@pf.test"] {
            let altered = try #require(postfix.waitForMessage(to: rcpt), "\(postfix.log)")
            let r = Self.dkimResults(altered)
            #expect(r.count == 2 && r.values.allSatisfy { $0 == "fail" }, "\(rcpt): \(r) \(Self.headerFields(altered).filter { $0.hasPrefix("Authentication-Results") })")
        }
    }
}
