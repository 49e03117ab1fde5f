import DNSCore
import DNSService
import DeliveryCore
import DeliveryEngine
import Foundation
import Glibc
import RelayConfig
import RelayNode
import Testing
import TestSupport

/// A private Postfix instance (its own config_directory, queue_directory and data_directory under
/// a temporary root) listening on 127.0.0.1 as a real receiving MTA: mail for `domain` is accepted
/// by smtpd (STARTTLS offered with a throw-away certificate) and delivered by the `virtual` agent
/// into one Maildir. The master runs in the foreground (`postfix start-fg`) as a ChildProcess of
/// the test, so stopping it (SIGTERM, then `postfix abort`/SIGKILL) leaves no process behind.
final class PostfixReceiver: @unchecked Sendable {
    // Safe: set up in init, only read afterwards; stop() is called once by the owning test.
    let root: String
    let port: UInt16
    let domain: String
    private let etc: String
    private let master: ChildProcess

    init(domain: String) throws {
        self.domain = domain
        root = FileManager.default.temporaryDirectory.appendingPathComponent("sx-postfix-\(UUID().uuidString)").path
        etc = root + "/etc"
        let spool = root + "/spool", data = root + "/data", mail = root + "/mail"
        for d in [etc, spool, data, mail] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        // The postfix user must reach its queue, data and mailbox directories.
        chmod(root, 0o755)
        guard let pw = getpwnam("postfix") else { throw HarnessError("no postfix user (install Debian's postfix)") }
        let (uid, gid) = (pw.pointee.pw_uid, pw.pointee.pw_gid)
        for d in [data, mail] { chown(d, uid, gid) }
        let cert = root + "/cert.pem", key = root + "/key.pem"
        let ssl = try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                                               "-out", cert, "-days", "1", "-subj", "/CN=postfix.pf.test"], timeout: 60)
        guard ssl.status == 0 else { throw HarnessError("openssl req failed: \(ssl.stderr)") }
        let mainCF = """
        compatibility_level = 3.6
        queue_directory = \(spool)
        data_directory = \(data)
        meta_directory = /etc/postfix
        daemon_directory = /usr/lib/postfix/sbin
        command_directory = /usr/sbin
        shlib_directory = /usr/lib/postfix
        mail_owner = postfix
        setgid_group = postdrop
        maillog_file = \(root)/postfix.log
        maillog_file_prefixes = \(root)
        myhostname = postfix.pf.test
        mydomain = pf.test
        mydestination =
        local_recipient_maps =
        local_transport = error:local delivery disabled
        alias_maps =
        alias_database =
        inet_interfaces = loopback-only
        inet_protocols = ipv4
        mynetworks = 127.0.0.0/8
        smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
        virtual_mailbox_domains = \(domain)
        virtual_mailbox_base = \(mail)
        virtual_mailbox_maps = static:inbox/
        virtual_uid_maps = static:\(uid)
        virtual_gid_maps = static:\(gid)
        smtp_dns_support_level = disabled
        smtpd_peername_lookup = no
        smtpd_tls_cert_file = \(cert)
        smtpd_tls_key_file = \(key)
        smtpd_tls_security_level = may
        smtpd_tls_received_header = yes
        smtpd_tls_loglevel = 1
        biff = no
        """
        let masterCFTemplate = """
        127.0.0.1:@PORT@ inet n - n - 10 smtpd
        pickup    unix  n       -       n       60      1       pickup
        cleanup   unix  n       -       n       -       0       cleanup
        qmgr      unix  n       -       n       300     1       qmgr
        tlsmgr    unix  -       -       n       1000?   1       tlsmgr
        rewrite   unix  -       -       n       -       -       trivial-rewrite
        bounce    unix  -       -       n       -       0       bounce
        defer     unix  -       -       n       -       0       bounce
        trace     unix  -       -       n       -       0       bounce
        verify    unix  -       -       n       -       1       verify
        flush     unix  n       -       n       1000?   0       flush
        proxymap  unix  -       -       n       -       -       proxymap
        smtp      unix  -       -       n       -       -       smtp
        relay     unix  -       -       n       -       -       smtp
        showq     unix  n       -       n       -       -       showq
        error     unix  -       -       n       -       -       error
        retry     unix  -       -       n       -       -       error
        discard   unix  -       -       n       -       -       discard
        virtual   unix  -       n       n       -       -       virtual
        anvil     unix  -       -       n       -       1       anvil
        scache    unix  -       -       n       -       1       scache
        postlog   unix-dgram n  -       n       -       1       postlogd

        """
        try (mainCF + "\n").write(toFile: etc + "/main.cf", atomically: true, encoding: .utf8)
        // The port was free a moment ago; another test may take it before the master binds it. Then
        // the master fails (or something else answers there): start again on a new port.
        var started: (port: UInt16, master: ChildProcess)?
        for attempt in 1...3 {
            let port = try SinkProcess.freePort()
            try masterCFTemplate.replacingOccurrences(of: "@PORT@", with: String(port))
                .write(toFile: etc + "/master.cf", atomically: true, encoding: .utf8)
            let master = try ChildProcess("/usr/sbin/postfix", ["-c", etc, "start-fg"],
                                          stdoutPath: root + "/master.out", stderrPath: root + "/master.out")
            let deadline = Date().addingTimeInterval(30)
            var listening = false
            while master.isRunning, Date() < deadline {
                if SinkProcess.accepts(port) && SinkProcess.listens(port, inTreeOf: master.pid) { listening = true; break }
                usleep(50_000)
            }
            if listening {
                started = (port, master)
                break
            }
            let out = (try? String(contentsOfFile: root + "/master.out", encoding: .utf8)) ?? ""
            let log = (try? String(contentsOfFile: root + "/postfix.log", encoding: .utf8)) ?? ""
            PostfixReceiver.halt(etc: etc, master: master)
            if attempt == 3 {
                try? FileManager.default.removeItem(atPath: root)
                throw HarnessError("postfix did not start listening on 127.0.0.1:\(port) (3 ports tried): \(out)\n\(log)")
            }
        }
        guard let started else { throw HarnessError("postfix did not start") }
        port = started.port
        master = started.master
    }

    /// Postfix's own mail log (`maillog_file`).
    var log: String { (try? String(contentsOfFile: root + "/postfix.log", encoding: .utf8)) ?? "" }

    /// The messages delivered into the Maildir (`mail/inbox/new`), file contents.
    var mailbox: [String] {
        let dir = root + "/mail/inbox/new"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.sorted().compactMap { try? String(contentsOfFile: dir + "/" + $0, encoding: .utf8) }
    }

    /// Polls the mail log until a delivery line `to=<recipient>` with `status=sent` appears (30 s).
    func waitForSent(_ recipient: String) -> String? {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let line = log.split(separator: "\n").first(where: { $0.contains("to=<\(recipient)>") && $0.contains("status=sent") }) {
                return String(line)
            }
            usleep(100_000)
        }
        return nil
    }

    /// Stops the instance (`postfix stop`: the master stops its children, then the `start-fg`
    /// shell this test spawned exits), escalating to `postfix abort` and SIGKILL for any process
    /// still running with this instance's MAIL_CONFIG, and removes the instance's directory.
    func stop() {
        PostfixReceiver.halt(etc: etc, master: master)
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Stops the instance configured in `etc` whose `start-fg` is `master`, leaving no process.
    static func halt(etc: String, master: ChildProcess) {
        _ = try? run("/usr/sbin/postfix", ["-c", etc, "stop"], timeout: 30)
        if master.wait(timeout: 20) != 0, !leftovers(etc: etc).isEmpty {
            _ = try? run("/usr/sbin/postfix", ["-c", etc, "abort"], timeout: 20)
        }
        for pid in leftovers(etc: etc) { kill(pid, SIGKILL) }
        master.wait(timeout: 5)
    }

    /// Processes whose environment names this instance's config directory (master and daemons).
    static func leftovers(etc: String) -> [pid_t] {
        let marker = Array("MAIL_CONFIG=\(etc)".utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { name -> pid_t? in
            guard let pid = pid_t(name), pid != getpid(),
                  let env = FileManager.default.contents(atPath: "/proc/\(name)/environ") else { return nil }
            return env.split(separator: 0).contains { Array($0) == marker } ? pid : nil
        }
    }
}

/// A scripted SMTP receiver (Python, system interpreter) on 127.0.0.1 that defers the first RCPT
/// it ever sees with `451 4.3.0` and accepts everything afterwards, logging the time of each RCPT
/// reply to `rcpt.log` as `<unix seconds> <code>`.
final class DeferOnceReceiver: @unchecked Sendable {
    // Safe: set up in init, read-only afterwards.
    let directory: String
    let port: UInt16
    private let process: ChildProcess

    static let script = #"""
    import socket, sys, threading, time
    portfile, logfile = sys.argv[1], sys.argv[2]
    lock = threading.Lock()
    rcpts = [0]
    def log(code):
        with open(logfile, "a") as f:
            f.write("%.3f %d\n" % (time.time(), code))
    def serve(conn):
        f = conn.makefile("rb")
        def send(line):
            conn.sendall(line.encode() + b"\r\n")
        send("220 scripted.test ESMTP")
        try:
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.decode("latin-1").strip().upper()
                if cmd.startswith("EHLO"):
                    send("250-scripted.test"); send("250-8BITMIME"); send("250 ENHANCEDSTATUSCODES")
                elif cmd.startswith("HELO"):
                    send("250 scripted.test")
                elif cmd.startswith("MAIL"):
                    send("250 2.1.0 OK")
                elif cmd.startswith("RCPT"):
                    with lock:
                        rcpts[0] += 1
                        first = rcpts[0] == 1
                    code = 451 if first else 250
                    log(code)
                    send("451 4.3.0 Temporary local problem" if first else "250 2.1.5 OK")
                elif cmd == "DATA":
                    send("354 End data with <CR><LF>.<CR><LF>")
                    while True:
                        body = f.readline()
                        if not body or body == b".\r\n":
                            break
                    send("250 2.0.0 OK queued")
                elif cmd == "QUIT":
                    send("221 2.0.0 Bye")
                    return
                else:
                    send("250 2.0.0 OK")
        finally:
            conn.close()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
    """#

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sx-defer-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        process = try ChildProcess("/usr/bin/python3", ["-c", Self.script, directory + "/port", directory + "/rcpt.log"],
                                   stderrPath: directory + "/stderr")
        let deadline = Date().addingTimeInterval(20)
        var found: UInt16? = nil
        while found == nil, Date() < deadline, process.isRunning {
            found = (try? String(contentsOfFile: directory + "/port", encoding: .utf8)).flatMap { UInt16($0) }
            if found == nil { usleep(20_000) }
        }
        guard let found else {
            process.signal(SIGKILL)
            process.wait()
            throw HarnessError("scripted receiver did not start")
        }
        port = found
    }

    /// (time, code) of every RCPT reply so far.
    var rcptReplies: [(Double, Int)] {
        let text = (try? String(contentsOfFile: directory + "/rcpt.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2, let t = Double(parts[0]), let c = Int(parts[1]) else { return nil }
            return (t, c)
        }
    }

    /// Kills the receiver and removes its directory.
    func stop() {
        process.signal(SIGKILL)
        process.wait()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Delivery options from the config file, and delivery to Postfix as a real receiving MTA.
@Suite("Delivery to Postfix and delivery options from config", .serialized)
struct DeliveryPostfixTests {
    static let send = """
    import smtplib, ssl, sys
    host, port, rcpts, subject = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4]
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP(host, port, timeout=30)
    s.ehlo("client.test"); s.starttls(context=ctx); s.ehlo("client.test")
    s.login("alice", "s3cret-pass")
    msg = ("From: app@origin.test\\r\\nTo: %s\\r\\nSubject: %s\\r\\n\\r\\nhello postfix\\r\\n" % (rcpts[0], subject)).encode()
    s.sendmail("app@origin.test", rcpts, msg)
    s.quit()
    """

    /// Polls the events API until `predicate` holds for the events of `type` (or `timeout` passes).
    func waitForEvents(_ relay: RelayProcess, type: String, timeout: Double = 30,
                       _ predicate: ([[String: Any]]) -> Bool) throws -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(timeout)
        var events: [[String: Any]] = []
        while Date() < deadline {
            events = try relay.events("type=\(type)&limit=100")
            if predicate(events) { return events }
            usleep(100_000)
        }
        return events
    }

    @Test("smtplib → Sendarix → private Postfix over STARTTLS: Postfix logs status=sent into its Maildir and Sendarix records delivered with remoteHost and 250")
    func deliversToPostfix() throws {
        let postfix = try PostfixReceiver(domain: "pf.test")
        defer { postfix.stop() }
        let relay = try RelayProcess(overlay: [
            "delivery": ["enabled": true, "retrySchedule": [5, 30]],
            "routes": [["domain": "pf.test", "hosts": ["127.0.0.1:\(postfix.port)"], "tls": "required"]],
        ])
        defer { relay.cleanUp() }
        let subject = "to postfix \(UUID().uuidString.prefix(8))"
        let out = try python(Self.send, ["127.0.0.1", String(relay.port("submission")), "bob@pf.test,carol@pf.test", subject])
        #expect(out.status == 0, "\(out.stderr)")

        let delivered = try waitForEvents(relay, type: "delivered") { $0.count >= 2 }
        #expect(delivered.count == 2, "\(relay.log())\n\(postfix.log)")
        #expect(Set(delivered.compactMap { $0["recipient"] as? String }) == ["bob@pf.test", "carol@pf.test"])
        for event in delivered {
            #expect(event["smtpCode"] as? Int == 250)
            #expect((event["remoteHost"] as? String)?.contains("127.0.0.1]:\(postfix.port)") == true, "\(event)")
            // Postfix's own acceptance reply names its queue id.
            #expect((event["response"] as? String)?.contains("queued as") == true, "\(event)")
        }

        for rcpt in ["bob@pf.test", "carol@pf.test"] {
            let line = postfix.waitForSent(rcpt)
            #expect(line != nil, "no status=sent for \(rcpt) in:\n\(postfix.log)")
            #expect(line?.contains("delivered to maildir") == true, "\(line ?? "")")
        }
        // Postfix's smtpd logged the TLS session Sendarix opened, and the Maildir holds the message.
        #expect(postfix.log.contains("TLS connection established from"), "\(postfix.log)")
        // The virtual agent writes one copy per recipient into the shared Maildir.
        let stored = postfix.mailbox.filter { $0.contains("Subject: \(subject)") }
        #expect(stored.count == 2, "\(postfix.mailbox.count) files in the Maildir")
        #expect(stored.allSatisfy { $0.contains("hello postfix") })
        #expect(stored.contains { $0.contains("Delivered-To: bob@pf.test") })
        #expect(stored.contains { $0.contains("Delivered-To: carol@pf.test") })
    }

    @Test("MX delivery to Postfix: the MX comes from a test DNS server (resolver.nameservers) and the port from delivery.mxPort")
    func deliversToPostfixByMX() throws {
        let postfix = try PostfixReceiver(domain: "pf.test")
        defer { postfix.stop() }
        // pf.test MX → mx.pf.test A 127.0.0.1, served on 127.0.0.1 port 0.
        let node = try DNSResponder.Zone.Node(id: "n0", name: "n0.pf.test", addresses: ["127.0.0.1"])
        let dns = try DNSServer(listen: ["127.0.0.1:0"],
                                zone: try DNSResponder.Zone(origin: "pf.test", ingressName: "mx.pf.test", ttl: 60, nodes: [node]))
        defer { dns.stop() }
        let relay = try RelayProcess(overlay: [
            "delivery": ["enabled": true, "mxPort": Int(postfix.port)],
            "resolver": ["nameservers": ["127.0.0.1:\(dns.port)"]],
        ])
        defer { relay.cleanUp() }
        let out = try python(Self.send, ["127.0.0.1", String(relay.port("submission")), "erin@pf.test", "by mx"])
        #expect(out.status == 0, "\(out.stderr)")
        let delivered = try waitForEvents(relay, type: "delivered") { !$0.isEmpty }
        #expect(delivered.first?["remoteHost"] as? String == "mx.pf.test[127.0.0.1]:\(postfix.port)", "\(relay.log())")
        #expect(delivered.first?["smtpCode"] as? Int == 250)
        #expect(postfix.waitForSent("erin@pf.test") != nil, "\(postfix.log)")
        #expect(postfix.mailbox.contains { $0.contains("Subject: by mx") && $0.contains("Delivered-To: erin@pf.test") })
    }

    @Test("delivery.retrySchedule from the config is honoured: a 451 at RCPT is retried after the configured 2 s, not the 60 s default")
    func retryScheduleFromConfig() throws {
        let receiver = try DeferOnceReceiver()
        defer { receiver.stop() }
        let relay = try RelayProcess(overlay: [
            "delivery": ["enabled": true, "retrySchedule": [2, 3600], "retryJitter": 0],
            "routes": [["domain": "scripted.test", "hosts": ["127.0.0.1:\(receiver.port)"], "tls": "none"]],
        ])
        defer { relay.cleanUp() }
        let out = try python(Self.send, ["127.0.0.1", String(relay.port("submission")), "dave@scripted.test", "retry"])
        #expect(out.status == 0, "\(out.stderr)")

        let deferred = try waitForEvents(relay, type: "deferred") { !$0.isEmpty }
        #expect(deferred.first?["smtpCode"] as? Int == 451, "\(relay.log())")
        #expect(deferred.first?["attempt"] as? Int == 1)
        let delivered = try waitForEvents(relay, type: "delivered", timeout: 30) { !$0.isEmpty }
        #expect(delivered.first?["attempt"] as? Int == 2, "\(relay.log())")
        #expect(delivered.first?["smtpCode"] as? Int == 250)

        let replies = receiver.rcptReplies
        #expect(replies.map(\.1) == [451, 250])
        if replies.count == 2 {
            let gap = replies[1].0 - replies[0].0
            // The configured first step is 2 s with no jitter; the scheduler may add a little.
            #expect(gap >= 1.9 && gap < 20, "retry came \(gap) s after the deferral")
        }
    }

    @Test("deliveryOptions maps every delivery key of the config onto the engine's options")
    func optionsMapping() throws {
        var config = RelayConfig()
        var d = RelayConfig.Delivery()
        d.sourceAddresses = [IPAddress("192.0.2.10")!]
        d.connectTimeoutSeconds = 2.5
        d.commandTimeoutSeconds = 120
        d.idleTimeoutSeconds = 1
        d.leaseSeconds = 600
        d.retrySchedule = [2, 30, 600]
        d.retryJitter = 0
        d.notifyByDefault = true
        d.caFile = "/etc/ssl/custom-ca.pem"
        d.mxPort = 2525
        d.maxInFlight = 50
        d.rateLimitStaticRoutes = true
        d.brokenTLSSeconds = 60
        d.circuitBreaker.failureThreshold = 3
        d.circuitBreaker.openSeconds = 30
        d.circuitBreaker.maxOpenSeconds = 90
        d.shaping = .init(all: .init(maxConnections: 4, messagesPerSecond: 12.5),
                          providers: ["google": .init(maxConnections: 2, maxMessagesPerConnection: 10, minimumTLS: "1.3")])
        d.throttle.slowdownFactor = 0.25
        d.throttle.minimumFactor = 0.1
        d.throttle.suspendLevel = 3
        d.throttle.suspendSeconds = 60
        d.throttle.maxSuspendSeconds = 600
        d.throttle.recoverySeconds = 120
        d.warmup.dailyCaps = [10, 20]
        d.warmup.addresses = [.init(address: IPAddress("192.0.2.11")!, startDate: "2026-11-20"),
                              .init(address: IPAddress("192.0.2.21")!, startDate: "2026-11-20", pool: "bulk")]
        d.pools = [.init(name: "bulk", addresses: [IPAddress("192.0.2.20")!])]
        config.delivery = d

        let o = RelayNode.deliveryOptions(config)
        #expect(o.connectTimeout == 2.5 && o.replyTimeoutCap == 120 && o.idleTimeout == 1 && o.leaseSeconds == 600)
        #expect(o.retrySteps == [2, 30, 600] && o.retryJitter == 0 && o.notifyByDefault)
        #expect(o.caFile == "/etc/ssl/custom-ca.pem" && o.mxPort == 2525 && o.maxInFlight == 50 && o.rateLimitStaticRoutes)
        #expect(o.breakerThreshold == 3 && o.breakerOpenSeconds == 30 && o.brokenTLSSeconds == 60)
        #expect(o.breakerMaxOpenSeconds == 90)
        let google = o.shaping.policy(for: .google)
        #expect(google.maxConnections == 2 && google.maxMessagesPerConnection == 10 && google.minimumTLS == .tls1_3)
        #expect(google.messagesPerSecond == 12.5)
        let other = o.shaping.policy(for: .other)
        #expect(other.maxConnections == 4 && other.maxMessagesPerConnection == 100 && other.minimumTLS == nil)
        #expect(o.throttle.slowdownFactor == 0.25 && o.throttle.minimumFactor == 0.1 && o.throttle.suspendLevel == 3)
        #expect(o.throttle.suspendDuration == 60 && o.throttle.maxSuspendDuration == 600 && o.throttle.recoveryInterval == 120)
        #expect(o.warmupDailyCaps == [10, 20])
        #expect(DeliveryEngine.Options.sourcePools(for: config) == [
            "default": [IPWarmup.SourceIP("192.0.2.10"), IPWarmup.SourceIP("192.0.2.11", warmupStartedAt: 20_777 * 86_400)],
            "bulk": [IPWarmup.SourceIP("192.0.2.20"), IPWarmup.SourceIP("192.0.2.21", warmupStartedAt: 20_777 * 86_400)],
        ])
    }

    @Test("a config without delivery keys yields exactly the engine's default options")
    func defaultOptionsMatchEngine() {
        let o = RelayNode.deliveryOptions(RelayConfig())
        let e = DeliveryEngine.Options()
        #expect(o.connectTimeout == e.connectTimeout && o.replyTimeoutCap == e.replyTimeoutCap && o.idleTimeout == e.idleTimeout)
        #expect(o.leaseSeconds == e.leaseSeconds && o.retrySteps == e.retrySteps && o.retryJitter == e.retryJitter)
        #expect(o.notifyByDefault == e.notifyByDefault && o.caFile == e.caFile && o.mxPort == e.mxPort)
        #expect(o.maxInFlight == e.maxInFlight && o.rateLimitStaticRoutes == e.rateLimitStaticRoutes)
        #expect(o.breakerThreshold == e.breakerThreshold && o.breakerOpenSeconds == e.breakerOpenSeconds)
        #expect(o.breakerMaxOpenSeconds == e.breakerMaxOpenSeconds)
        #expect(o.brokenTLSSeconds == e.brokenTLSSeconds && o.shaping == e.shaping && o.throttle == e.throttle)
        #expect(o.warmupDailyCaps == e.warmupDailyCaps && o.sourceIPs == nil)
        // The config's provider names are the engine's, so every shaping key reaches a provider.
        #expect(RelayConfig.Delivery.Shaping.providerNames == Provider.allCases.map(\.rawValue))
        #expect(RelayConfig.Delivery.Shaping.tlsVersions == ShapingPolicy.TLSVersion.allCases.map(\.rawValue))
    }
}
