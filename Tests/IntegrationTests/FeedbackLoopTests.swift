import Foundation
import Testing

/// Asynchronous bounces (VERP), complaint feedback loops, the receiver simulator and the sandbox,
/// through the real binary: smtplib submits, the node delivers to its in-process simulator, the
/// simulator's DSNs and ARF reports come back over SMTP to the node's relay listener (127.57.0.1).
@Suite("Bounces and complaints through the binary", .serialized)
struct FeedbackLoopTests {
    static let send = """
    import smtplib, ssl, sys
    host, port, user, sender, rcpts = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5].split(",")
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP(host, port, timeout=30)
    s.ehlo("client.test"); s.starttls(context=ctx); s.ehlo("client.test")
    s.login(user, "s3cret-pass")
    msg = ("From: " + sender + "\\r\\nTo: " + rcpts[0] + "\\r\\nSubject: simulated\\r\\nMessage-ID: <m-" + rcpts[0] + ">\\r\\n\\r\\nhello\\r\\n").encode()
    s.sendmail(sender, rcpts, msg, rcpt_options=sys.argv[6].split() if len(sys.argv) > 6 else [])
    s.quit()
    """

    /// RCPT probes on the relay port: prints `<code> <address>` per address.
    static let probe = """
    import smtplib, sys
    host, port, addrs = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
    s = smtplib.SMTP(host, port, timeout=30); s.ehlo("mx.remote.test")
    for a in addrs:
        s.docmd("MAIL", "FROM:<>")
        code, text = s.docmd("RCPT", "TO:<" + a + ">")
        print(code, a, text.decode())
        s.docmd("RSET")
    s.quit()
    """

    static func start(_ extra: [String: Any] = [:]) throws -> RelayProcess {
        let user: (String, Bool) -> [String: Any] = { name, sandbox in
            ["name": name, "password": "s3cret-pass", "tenant": "acme", "sandbox": sandbox]
        }
        return try RelayProcess(overlay: RelayProcess.merge([
            "listen": ["submission": ["127.57.0.1:0"], "smtps": [], "relay": ["127.57.0.1:0"], "admin": "127.57.0.1:0"],
            "users": [user("alice", false), user("sandy", true)],
            "delivery": ["enabled": true, "retrySchedule": [1], "retryJitter": 0],
            "bounces": ["verp": true, "feedbackAddresses": ["fbl@feedback.relay.test"],
                        "simulator": ["asyncDelaySeconds": 1, "greylistSeconds": 2]],
        ], extra))
    }

    /// Polls the events API until `predicate` holds for the events of `query` (or 30 s pass).
    func waitForEvents(_ relay: RelayProcess, _ query: String, _ predicate: ([[String: Any]]) -> Bool) throws -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(30)
        var events: [[String: Any]] = []
        while Date() < deadline {
            events = try relay.events(query)
            if predicate(events) { return events }
            usleep(50_000)
        }
        return events
    }

    func submit(_ relay: RelayProcess, user: String = "alice", sender: String = "app@example.com", to: String,
                rcptOptions: String = "") throws {
        let out = try python(Self.send, ["127.57.0.1", String(relay.port("submission")), user, sender, to, rcptOptions])
        #expect(out.status == 0, "\(out.stderr)\n\(relay.log())")
    }

    /// Submits to `rcpt`, waits for an event of type `last`, and returns the recipient's events
    /// (newest first) with their types oldest first.
    func submitAndWait(_ relay: RelayProcess, _ rcpt: String, until last: String) throws -> ([[String: Any]], [String]) {
        try submit(relay, to: rcpt)
        let events = try waitForEvents(relay, "recipient=\(rcpt)&limit=100") { list in list.contains { $0["type"] as? String == last } }
        return (events, events.reversed().compactMap { $0["type"] as? String })
    }

    /// Waits for the first event of `type` for `rcpt` (nil after 30 s).
    func firstEvent(_ relay: RelayProcess, _ rcpt: String, _ type: String) throws -> [String: Any]? {
        try waitForEvents(relay, "recipient=\(rcpt)&limit=100") { $0.contains { $0["type"] as? String == type } }
            .first { $0["type"] as? String == type }
    }

    func suppressions(_ relay: RelayProcess) throws -> [[String: Any]] {
        (try relay.adminJSON("/v1/suppressions?tenant=acme")["suppressions"] as? [[String: Any]]) ?? []
    }

    @Test("Simulator hard bounce: accepted → delivered → bounced by a DSN sent to the VERP address, then suppressed; forged VERP refused at RCPT")
    func hardBounceThroughVERP() throws {
        let relay = try Self.start()
        defer { relay.cleanUp() }
        let rcpt = "bounce@simulator.sendarix.test"
        let (bounced, types) = try submitAndWait(relay, rcpt, until: "bounced")
        #expect(types == ["accepted", "delivered", "bounced"], "\(bounced)\n\(relay.log())")
        let bounce = try #require(bounced.first { $0["type"] as? String == "bounced" })
        #expect(bounce["bounceClass"] as? String == "bad-mailbox")
        #expect(bounce["enhancedCode"] as? String == "5.1.1")
        #expect(bounce["smtpCode"] as? Int == 550)
        #expect(bounce["tenant"] as? String == "acme")
        #expect(bounce["sender"] as? String == "app@example.com")
        let accepted = try #require(bounced.first { $0["type"] as? String == "accepted" })
        #expect((bounce["messageId"] as? String)?.contains("m-\(rcpt)") == true)
        #expect(bounce["messageId"] as? String == accepted["messageId"] as? String)
        #expect(bounce["queueId"] as? String == accepted["queueId"] as? String)
        let queueID = try #require(bounce["queueId"] as? String)
        // The DSN travelled over SMTP to this node's relay port, addressed to the message's VERP address.
        let log = relay.log()
        let verpPrefix = "bounce-\(queueID.lowercased())-0-q-"
        let line = try #require(log.split(separator: "\n").first { $0.contains("simulator.report_sent") && $0.contains(verpPrefix) },
                                "\(log)")
        #expect(line.contains("250"))
        #expect(try suppressions(relay).contains { $0["address"] as? String == rcpt && $0["reason"] as? String == "hard-bounce" })

        // RCPT verification at the bounce domain: the real VERP address is accepted; the same one with
        // another tag, another queue ID, or an unknown local part is refused with 550 5.1.1.
        let verpRange = try #require(line.range(of: verpPrefix))
        let verp = String(line[verpRange.lowerBound...].prefix { $0 != " " && $0 != "\"" && $0 != "," })
        #expect(verp.hasSuffix("@bounces.example.com"))
        let at = try #require(verp.firstIndex(of: "@"))
        var forged = Array(verp[..<at])
        forged[forged.count - 1] = forged.last == "a" ? "b" : "a"
        let forgedTag = String(forged) + "@bounces.example.com"
        let otherMessage = verp.replacingOccurrences(of: queueID.lowercased(), with: "0000000000000000000a")
        let out = try python(Self.probe, ["127.57.0.1", String(relay.port("relay")),
                                          [verp, forgedTag, otherMessage, "postmaster-x@bounces.example.com"].joined(separator: ",")])
        let replies = String(decoding: out.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(replies.count == 4, "\(replies) \(out.stderr)")
        #expect(replies.first?.hasPrefix("250 ") == true, "\(replies)")
        for r in replies.dropFirst() { #expect(r.hasPrefix("550 ") && r.contains("5.1.1"), "\(r)") }
    }

    @Test("Simulator complaint: an ARF report to the feedback address yields complained and a complaint suppression")
    func complaint() throws {
        let relay = try Self.start()
        defer { relay.cleanUp() }
        let rcpt = "complaint@simulator.sendarix.test"
        let (events, types) = try submitAndWait(relay, rcpt, until: "complained")
        #expect(types == ["accepted", "delivered", "complained"], "\(events)\n\(relay.log())")
        let complained = try #require(events.first { $0["type"] as? String == "complained" })
        #expect(complained["tenant"] as? String == "acme")
        #expect((complained["response"] as? String)?.hasPrefix("abuse") == true)
        #expect(relay.log().contains("fbl@feedback.relay.test"))
        #expect(try suppressions(relay).contains { $0["address"] as? String == rcpt && $0["reason"] as? String == "complaint" })
        let rates = try relay.adminJSON("/v1/complaint-rates?hours=1&tenant=acme")["tenants"] as? [[String: Any]]
        #expect(rates?.first?["complained"] as? Int == 1)
        #expect(rates?.first?["delivered"] as? Int == 1)
        #expect(rates?.first?["complaintRate"] as? Double == 1.0)
    }

    @Test("Sandbox and simulator: a sandboxed user's mail to any domain is delivered inside the node; soft bounce, greylist, suppression list and auto reply produce the events a real receiver would")
    func sandboxAndBehaviours() throws {
        let relay = try Self.start()
        defer { relay.cleanUp() }
        try submit(relay, user: "sandy", to: "someone@gmail.example")
        try submit(relay, to: "softbounce@simulator.sendarix.test")
        try submit(relay, to: "greylist@simulator.sendarix.test")
        try submit(relay, to: "suppressionlist@simulator.sendarix.test")
        try submit(relay, to: "ooto@simulator.sendarix.test")
        func wait(_ rcpt: String, _ type: String) throws -> [String: Any]? { try firstEvent(relay, rcpt, type) }
        let sandboxed = try #require(try wait("someone@gmail.example", "delivered"), "\(relay.log())")
        #expect((sandboxed["remoteHost"] as? String)?.contains("127.0.0.1") == true, "\(sandboxed)")
        let soft = try #require(try wait("softbounce@simulator.sendarix.test", "deferred"))
        #expect(soft["bounceClass"] as? String == "mailbox-full")
        // Greylisted first, let through on a retry after the window.
        let grey = try #require(try wait("greylist@simulator.sendarix.test", "deferred"))
        #expect(grey["bounceClass"] as? String == "greylisted")
        #expect(try wait("greylist@simulator.sendarix.test", "delivered") != nil, "\(relay.log())")
        #expect(try wait("suppressionlist@simulator.sendarix.test", "suppressed") != nil)
        #expect(try wait("ooto@simulator.sendarix.test", "delivered") != nil)
        // The auto reply arrives at the VERP address and is recognised as one (no bounce event).
        let deadline = Date().addingTimeInterval(20)
        while !relay.log().contains("feedback.auto_reply"), Date() < deadline { usleep(50_000) }
        #expect(relay.log().contains("feedback.auto_reply"))
        #expect(try relay.events("recipient=ooto@simulator.sendarix.test&type=bounced").isEmpty)
    }

    @Test("Simulator failures: reject is a synchronous hard bounce with suppression, 421 and a silent receiver defer, a slow receiver still delivers")
    func failures() throws {
        let relay = try Self.start(["delivery": ["commandTimeoutSeconds": 3], "bounces": ["simulator": ["slowSeconds": 1]]])
        defer { relay.cleanUp() }
        for local in ["reject", "tempfail", "timeout", "slow"] { try submit(relay, to: "\(local)@simulator.sendarix.test") }
        func wait(_ local: String, _ type: String) throws -> [String: Any]? {
            try firstEvent(relay, "\(local)@simulator.sendarix.test", type)
        }
        let rejected = try #require(try wait("reject", "bounced"), "\(relay.log())")
        #expect(rejected["bounceClass"] as? String == "bad-mailbox")
        #expect(rejected["smtpCode"] as? Int == 550)
        #expect(try suppressions(relay).contains { $0["address"] as? String == "reject@simulator.sendarix.test" })
        let tempfail = try #require(try wait("tempfail", "deferred"))
        #expect(tempfail["smtpCode"] as? Int == 421)
        let timeout = try #require(try wait("timeout", "deferred"), "\(relay.log())")
        #expect(timeout["bounceClass"] as? String == "timeout", "\(timeout)")
        #expect(try wait("slow", "delivered") != nil)
    }

    @Test("NOTIFY=FAILURE: when the simulator's DSN arrives after delivery, the original sender gets a DSN of its own")
    func originalSenderNotified() throws {
        let relay = try Self.start()
        defer { relay.cleanUp() }
        try submit(relay, sender: "app@origin.test", to: "bounce+notify@simulator.sendarix.test", rcptOptions: "NOTIFY=FAILURE")
        let notice = try waitForEvents(relay, "recipient=app@origin.test&type=accepted&limit=10") { !$0.isEmpty }
        #expect(notice.count == 1, "\(relay.log())")
        #expect(notice.first?["sender"] as? String == "")
        #expect((notice.first?["queueId"] as? String)?.contains("-adsn") == true)
        let bounced = try waitForEvents(relay, "recipient=bounce%2Bnotify@simulator.sendarix.test&type=bounced") { !$0.isEmpty }
        #expect(bounced.count == 1)
    }

    /// A Yahoo-CFL-style ARF report from outside (SMTP to the relay port): no VERP, no known message, only
    /// the DKIM domain of the enclosed message (a tenant's sending domain) ties it to the tenant.
    static let cflReport = """
    import smtplib, sys
    host, port = sys.argv[1], int(sys.argv[2])
    msg = (
        "From: feedback@arf.mail.yahoo.example\\r\\nTo: fbl@feedback.relay.test\\r\\nSubject: FW: offers\\r\\n"
        "MIME-Version: 1.0\\r\\nContent-Type: multipart/report; report-type=feedback-report; boundary=b1\\r\\n\\r\\n"
        "--b1\\r\\nContent-Type: text/plain\\r\\n\\r\\nThis is an email abuse report\\r\\n"
        "--b1\\r\\nContent-Type: message/feedback-report\\r\\n\\r\\nFeedback-Type: abuse\\r\\n"
        "User-Agent: Yahoo!-Mail-Feedback/2.0\\r\\nVersion: 0.1\\r\\nOriginal-Rcpt-To: reader@yahoo.example\\r\\n\\r\\n"
        "--b1\\r\\nContent-Type: message/rfc822\\r\\n\\r\\n"
        "DKIM-Signature: v=1; a=rsa-sha256; d=cfl.example.test; s=s1; h=from; bh=x; b=y\\r\\n"
        "From: news@cfl.example.test\\r\\nTo: reader@yahoo.example\\r\\nSubject: offers\\r\\n"
        "Message-ID: <unknown-1@cfl.example.test>\\r\\n\\r\\nbuy\\r\\n--b1--\\r\\n")
    s = smtplib.SMTP(host, port, timeout=30); s.ehlo("mta.yahoo.example")
    s.sendmail("", ["fbl@feedback.relay.test"], msg.encode())
    s.quit()
    """

    @Test("Yahoo CFL without VERP: the enclosed message's DKIM domain names the tenant; complained and suppressed for it")
    func cflByDKIMDomain() throws {
        let relay = try Self.start()
        defer { relay.cleanUp() }
        let (created, _) = try SendingDomainTests.request(relay, "POST", "/v1/domains", ["domain": "cfl.example.test", "tenant": "acme"])
        #expect(created == 201 || created == 200)
        let out = try python(Self.cflReport, ["127.57.0.1", String(relay.port("relay"))])
        #expect(out.status == 0, "\(out.stderr)\n\(relay.log())")
        let complained = try #require(try firstEvent(relay, "reader@yahoo.example", "complained"), "\(relay.log())")
        #expect(complained["tenant"] as? String == "acme")
        #expect(complained["messageId"] as? String == "unknown-1@cfl.example.test")
        #expect(try suppressions(relay).contains { $0["address"] as? String == "reader@yahoo.example" && $0["reason"] as? String == "complaint" })
    }
}
