import Foundation
import Testing
import TestSupport
@testable import RelayNode
import RelayConfig

/// Webhooks through the binary: Python receivers on 127.51.x verify every call with the Standard
/// Webhooks algorithm; a receiver that is down then back gets every event once per webhook-id; a
/// 410 disables the endpoint; loopback targets are refused unless allowed; a rotated secret signs
/// beside the old one.
@Suite("Webhooks through the binary", .serialized)
struct WebhookTests {
    /// A fast retry schedule standing in for the three-day one (the real one is unit-tested).
    static var fastWebhooks: [String: Any] { [
        "allowedPrivateNetworks": ["127.51.0.0/16"],
        "retryScheduleMillis": [100, 200, 400, 800] + Array(repeating: 1000, count: 30),
        "retryJitter": 0.1, "pollMillis": 50, "timeoutSeconds": 2, "leaseSeconds": 5,
    ] }

    /// Submits argv[3] messages (one recipient each) as alice over STARTTLS; prints the queue IDs.
    static let sender = #"""
    import smtplib, ssl, sys
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    local = sys.argv[4] if len(sys.argv) > 4 else "user"
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP(host, port, timeout=30); s.ehlo("client.test"); s.starttls(context=ctx); s.ehlo("client.test")
    s.login("alice", "s3cret-pass")
    for i in range(count):
        s.mail("app@example.com"); s.rcpt("%s%d@dest.test" % (local, i))
        code, text = s.data("Subject: hook %d\r\nMessage-ID: <hook-%d-%d@client.test>\r\n\r\nbody\r\n" % (i, port, i))
        print(text.decode().split()[-1])
    s.quit()
    """#

    static func submit(_ relay: RelayProcess, count: Int, localPart: String = "user") throws -> [String] {
        let (host, port) = relay.address("submission")
        let out = try python(sender, [host, String(port), String(count), localPart])
        let ids = String(decoding: out.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        guard ids.count == count else { throw HarnessError("submission failed: \(ids) \(out.stderr)") }
        return ids
    }

    static func waitFor(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        try ClusterRaftTests.waitFor(seconds, condition)
    }

    static func hook(_ relay: RelayProcess, _ id: String) throws -> [String: Any] {
        try relay.adminJSON("/v1/webhooks/\(id)")
    }

    /// The webhook-ids the node should send for these accepted events: `msg_<index>_<ordinal>`.
    static func expectedIDs(_ relay: RelayProcess, queueIDs: [String]) throws -> Set<String> {
        var ids: Set<String> = []
        for q in queueIDs {
            for e in try relay.events("queueId=\(q)&type=accepted") {
                ids.insert("msg_" + (e["id"] as! String).replacingOccurrences(of: "-", with: "_"))
            }
        }
        return ids
    }

    @Test("Signatures match the Standard Webhooks test vector; URLs parse; loopback, private and link-local are refused unless allowed")
    func signerAndTargets() throws {
        let signature = WebhookSigner.signature(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                                timestamp: 1614265330, body: Array("{\"test\": 2432232314}".utf8))
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(WebhookSigner.newSecret().hasPrefix("whsec_") && WebhookSigner.key(WebhookSigner.newSecret())?.count == 32)
        let t = try #require(WebhookTarget(url: "https://[::1]:8443/in?x=1"))
        #expect(t.tls && t.host == "::1" && t.port == 8443 && t.path == "/in?x=1" && t.hostHeader == "[::1]:8443")
        #expect(WebhookTarget(url: "http://hooks.example")?.path == "/" && WebhookTarget(url: "http://hooks.example")?.port == 80)
        #expect(WebhookTarget(url: "http://user@evil/") == nil && WebhookTarget(url: "gopher://x/") == nil)
        for ip in ["127.0.0.1", "10.1.2.3", "192.168.1.1", "172.20.0.1", "169.254.169.254", "::1", "fe80::1", "::ffff:127.0.0.1", "100.64.0.1"] {
            #expect(WebhookTarget.refusal(IPAddress(ip)!, allowed: []) != nil, "\(ip)")
        }
        #expect(WebhookTarget.refusal(IPAddress("93.184.216.34")!, allowed: []) == nil)
        #expect(WebhookTarget.refusal(IPAddress("127.51.0.1")!, allowed: [IPNetwork("127.51.0.0/16")!]) == nil)
    }

    @Test("A receiver that is down, then back, gets every event exactly once per webhook-id, signed")
    func receiverDownThenBack() throws {
        let receiver = try WebhookReceiver(host: "127.51.0.1")
        defer { receiver.stop() }
        let relay = try RelayProcess(overlay: ["webhooks": Self.fastWebhooks])
        defer { relay.cleanUp() }
        let (status, created) = try SendingDomainTests.request(relay, "POST", "/v1/webhooks",
                                                               ["url": receiver.url, "tenant": "acme", "events": ["accepted"]])
        #expect(status == 201, "\(created)")
        let id = try #require(created["id"] as? String)
        let secret = try #require(created["secret"] as? String)
        #expect(secret.hasPrefix("whsec_"))

        // Receiver down (port closed): events pile up, attempts fail and are retried.
        let queueIDs = try Self.submit(relay, count: 30)
        #expect(Self.waitFor(30) { ((try? Self.hook(relay, id))?["consecutiveFailures"] as? Int ?? 0) >= 4 },
                "\((try? Self.hook(relay, id)) ?? [:])")
        let refused = try relay.adminJSON("/v1/webhooks/\(id)/attempts?limit=5")["attempts"] as? [[String: Any]] ?? []
        #expect(refused.first?["status"] as? Int == 0, "\(refused)")
        #expect((try Self.hook(relay, id))["pending"] as? Int == 30)

        // Back: everything arrives.
        try receiver.start()
        #expect(Self.waitFor(60) { ((try? Self.hook(relay, id))?["delivered"] as? Int) == 30 }, "\((try? Self.hook(relay, id)) ?? [:])")
        #expect((try Self.hook(relay, id))["pending"] as? Int == 0)
        let requests = receiver.requests
        let events = receiver.events
        let okIDs = events.filter { $0.status == 200 }.map(\.eventID)
        #expect(okIDs.count == 30, "each event acknowledged once: \(okIDs.count) 2xx for 30 events")
        #expect(Set(okIDs) == (try Self.expectedIDs(relay, queueIDs: queueIDs)))
        // Events that piled up while the receiver was down went together, in batches.
        #expect(requests.count < 30, "\(requests.count) POSTs for 30 events")
        let signatures = try receiver.verify(secrets: [secret])
        #expect(signatures.values.allSatisfy { $0.allSatisfy { $0 == 1 } })
        // Bodies: the DESIGN §3 fields plus a sequence that orders each message's events, and each
        // event's own webhook-id; a batch's events in sequence order.
        for e in events {
            #expect(e.body["type"] as? String == "accepted")
            #expect(e.body["tenant"] as? String == "acme")
            #expect(queueIDs.contains(e.body["queueId"] as? String ?? ""))
            #expect((e.body["sequence"] as? Int ?? 0) > 0)
            #expect(e.eventID == "msg_" + (e.body["id"] as! String).replacingOccurrences(of: "-", with: "_"))
            #expect(e.postID == e.eventID || e.postID.hasPrefix("batch_"), "\(e.postID)")
        }
        for (_, batch) in Dictionary(grouping: events, by: \.postID) {
            let sequences = batch.compactMap { $0.body["sequence"] as? Int }
            #expect(sequences == sequences.sorted())
        }
        let attempts = try relay.adminJSON("/v1/webhooks/\(id)/attempts?limit=1000")["attempts"] as? [[String: Any]] ?? []
        let delivered = attempts.filter { $0["status"] as? Int == 200 }
        #expect(delivered.count == 30)
        #expect(delivered.allSatisfy { ($0["response"] as? String ?? "").contains("ok") && $0["latencyMs"] is Int })
    }

    @Test("A 410 Gone disables the endpoint with a webhook.disabled event; resume sends the rest")
    func goneDisables() throws {
        let receiver = try WebhookReceiver(host: "127.51.0.2")
        defer { receiver.stop() }
        try receiver.setMode(410)
        try receiver.start()
        let relay = try RelayProcess(overlay: ["webhooks": Self.fastWebhooks])
        defer { relay.cleanUp() }
        let (_, created) = try SendingDomainTests.request(relay, "POST", "/v1/webhooks",
                                                          ["url": receiver.url, "tenant": "acme", "events": ["accepted"],
                                                           "concurrency": 1])
        let id = try #require(created["id"] as? String)
        _ = try Self.submit(relay, count: 5)
        #expect(Self.waitFor(30) { (try? Self.hook(relay, id))?["status"] as? String == "disabled" })
        #expect(Self.waitFor(10) { ((try? relay.events("type=webhook.disabled")) ?? []).count == 1 })
        let calls = receiver.requests.count
        #expect(calls == 1, "nothing is sent after the 410: \(calls) calls")
        #expect((try Self.hook(relay, id))["pending"] as? Int == 5)

        try receiver.setMode(200)
        let (resumed, _) = try SendingDomainTests.request(relay, "POST", "/v1/webhooks/\(id)/resume", [:])
        #expect(resumed == 200)
        #expect(Self.waitFor(30) { ((try? Self.hook(relay, id))?["delivered"] as? Int) == 5 }, "\((try? Self.hook(relay, id)) ?? [:])")
        #expect((try Self.hook(relay, id))["status"] as? String == "active")
    }

    @Test("Loopback targets are refused unless inside webhooks.allowedPrivateNetworks, also behind a DNS name")
    func ssrfRefusal() throws {
        let receiver = try WebhookReceiver(host: "127.51.0.3")
        defer { receiver.stop() }
        try receiver.start()
        let dns = try DnspythonServer(records: ["hook.test. A": ["127.51.0.3"]])
        defer { dns.stop() }
        let relay = try RelayProcess(overlay: ["resolver": ["nameservers": ["127.0.0.1:\(dns.port)"]],
                                               "webhooks": ["pollMillis": 50, "retryScheduleMillis": [100, 100]]])
        defer { relay.cleanUp() }
        let (status, refused) = try SendingDomainTests.request(relay, "POST", "/v1/webhooks",
                                                               ["url": receiver.url, "tenant": "acme"])
        #expect(status == 400)
        #expect((refused["error"] as? String ?? "").contains("allowedPrivateNetworks"), "\(refused)")

        // A name that resolves to loopback is refused at call time: the first try and both retries, then failing.
        let (s2, created) = try SendingDomainTests.request(relay, "POST", "/v1/webhooks",
                                                           ["url": "http://hook.test:\(receiver.port)/hook", "tenant": "acme"])
        #expect(s2 == 201)
        let id = try #require(created["id"] as? String)
        _ = try Self.submit(relay, count: 1)
        #expect(Self.waitFor(30) { ((try? Self.hook(relay, id))?["failed"] as? Int) == 1 })
        let attempts = try relay.adminJSON("/v1/webhooks/\(id)/attempts")["attempts"] as? [[String: Any]] ?? []
        #expect(attempts.count == 3 && attempts.allSatisfy { ($0["response"] as? String ?? "").contains("refused to call 127.51.0.3") },
                "\(attempts)")
        #expect(receiver.requests.isEmpty)
        #expect(Self.waitFor(10) { ((try? relay.events("type=webhook.failing")) ?? []).count == 1 })

        // The same receiver, allowed: delivered.
        relay.stop()
        let allowed = try RelayProcess(overlay: ["webhooks": Self.fastWebhooks])
        defer { allowed.cleanUp() }
        let (s3, ok) = try SendingDomainTests.request(allowed, "POST", "/v1/webhooks", ["url": receiver.url, "tenant": "acme"])
        #expect(s3 == 201)
        let okID = try #require(ok["id"] as? String)
        _ = try Self.submit(allowed, count: 1)
        #expect(Self.waitFor(30) { ((try? Self.hook(allowed, okID))?["delivered"] as? Int) == 1 })
        #expect(receiver.requests.count == 1)
    }

    @Test("After a secret rotation each call carries two v1 signatures: the new secret's and the old one's")
    func rotationSignsTwice() throws {
        let receiver = try WebhookReceiver(host: "127.51.0.4")
        defer { receiver.stop() }
        try receiver.start()
        let relay = try RelayProcess(overlay: ["webhooks": Self.fastWebhooks])
        defer { relay.cleanUp() }
        let (_, created) = try SendingDomainTests.request(relay, "POST", "/v1/webhooks",
                                                          ["url": receiver.url, "tenant": "acme", "events": ["accepted"]])
        let id = try #require(created["id"] as? String)
        let old = try #require(created["secret"] as? String)
        _ = try Self.submit(relay, count: 1)
        #expect(Self.waitFor(30) { receiver.requests.count == 1 })
        let (rs, rotated) = try SendingDomainTests.request(relay, "POST", "/v1/webhooks/\(id)/rotate", ["graceSeconds": 3600])
        #expect(rs == 200)
        let new = try #require(rotated["secret"] as? String)
        #expect(new != old && new.hasPrefix("whsec_"))
        _ = try Self.submit(relay, count: 1)
        #expect(Self.waitFor(30) { receiver.requests.count == 2 })
        let requests = receiver.requests
        try #require(requests.count == 2)
        let firstID = requests[0]["id"] as! String, secondID = requests[1]["id"] as! String
        #expect((requests[1]["signature"] as? String ?? "").split(separator: " ").count == 2)
        // Against both secrets: the first call has one valid signature, the second two.
        let both = try receiver.verify(secrets: [old, new])
        #expect(both[firstID] == [1])
        #expect(both[secondID] == [2])
        // The new secret alone verifies the second call (receivers may switch at once).
        let newOnly = try python(WebhookReceiver.verifier, [receiver.directory + "/requests.jsonl",
                                                              "[\"\(new)\"]"])
        #expect(newOnly.status == 1, "the first call was not signed with the new secret")
        #expect(String(decoding: newOnly.stdout, as: UTF8.self).contains("\"\(secondID)\": [1]"))
    }

    @Test("HTTPS endpoints: the receiver's certificate is verified against webhooks.caFile and the URL's host name")
    func httpsVerified() throws {
        let receiver = try WebhookReceiver(host: "127.51.0.5")
        defer { receiver.stop() }
        let d = receiver.directory
        // A CA and a certificate for hook.test signed by it (openssl CLI).
        let steps: [[String]] = [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/ca.key", "-out", d + "/ca.pem", "-days", "2",
             "-subj", "/CN=Webhook Test CA"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/hook.key", "-out", d + "/hook.csr", "-subj", "/CN=hook.test"],
            ["x509", "-req", "-in", d + "/hook.csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca.key", "-CAcreateserial",
             "-out", d + "/hook.pem", "-days", "2", "-extfile", d + "/ext.cnf"],
        ]
        try "subjectAltName=DNS:hook.test\n".write(toFile: d + "/ext.cnf", atomically: true, encoding: .utf8)
        for args in steps {
            let out = try run("/usr/bin/openssl", args)
            #expect(out.status == 0, "\(out.stderr)")
        }
        try receiver.start(tls: (d + "/hook.pem", d + "/hook.key"))
        let dns = try DnspythonServer(records: ["hook.test. A": ["127.51.0.5"], "wrong.test. A": ["127.51.0.5"]])
        defer { dns.stop() }
        var webhooks = Self.fastWebhooks
        webhooks["caFile"] = d + "/ca.pem"
        webhooks["retryScheduleMillis"] = [100]
        let relay = try RelayProcess(overlay: ["resolver": ["nameservers": ["127.0.0.1:\(dns.port)"]], "webhooks": webhooks])
        defer { relay.cleanUp() }
        let (s1, good) = try SendingDomainTests.request(relay, "POST", "/v1/webhooks",
                                                        ["url": "https://hook.test:\(receiver.port)/in", "tenant": "acme"])
        let (s2, wrong) = try SendingDomainTests.request(relay, "POST", "/v1/webhooks",
                                                         ["url": "https://wrong.test:\(receiver.port)/in", "tenant": "acme"])
        #expect(s1 == 201 && s2 == 201)
        let goodID = try #require(good["id"] as? String), wrongID = try #require(wrong["id"] as? String)
        _ = try Self.submit(relay, count: 1)
        #expect(Self.waitFor(30) { ((try? Self.hook(relay, goodID))?["delivered"] as? Int) == 1 })
        #expect(Self.waitFor(30) { ((try? Self.hook(relay, wrongID))?["failed"] as? Int) == 1 })
        let refused = try relay.adminJSON("/v1/webhooks/\(wrongID)/attempts")["attempts"] as? [[String: Any]] ?? []
        #expect(!refused.isEmpty && refused.allSatisfy { ($0["response"] as? String ?? "").contains("certificate verification failed") },
                "\(refused)")
        #expect(receiver.requests.count == 1, "only the verified host was sent the event")
        #expect(try receiver.verify(secrets: [good["secret"] as! String]).count == 1)
    }

    @Test("The CLI creates, lists, pauses, resumes, replays and deletes endpoints; concurrency bounds the calls in flight")
    func cliReplayAndConcurrency() throws {
        let receiver = try WebhookReceiver(host: "127.51.0.6")
        defer { receiver.stop() }
        try receiver.setMode(200, delay: 0.2)
        try receiver.start()
        let relay = try RelayProcess(overlay: ["webhooks": Self.fastWebhooks])
        defer { relay.cleanUp() }
        let (host, port) = relay.address("admin")
        func cli(_ args: [String]) throws -> (Int32, [String: Any]) {
            let out = try run(RelayProcess.binary, ["webhooks"] + args + ["--admin", "http://\(host):\(port)", "--token", relay.adminToken])
            return (out.status, (try? JSONSerialization.jsonObject(with: out.stdout)) as? [String: Any] ?? ["raw": out.stderr])
        }
        // One event per POST for this endpoint (a JSON object, as before batching): six calls, two at a time.
        let (created, endpoint) = try cli(["create", receiver.url, "--tenant", "acme", "--events", "accepted", "--concurrency", "2",
                                           "--batch-max-events", "1"])
        #expect(created == 0, "\(endpoint)")
        #expect(endpoint["batchMaxEvents"] as? Int == 1)
        let id = try #require(endpoint["id"] as? String)
        #expect((endpoint["secret"] as? String ?? "").hasPrefix("whsec_") && endpoint["concurrency"] as? Int == 2)
        let (_, paused) = try cli(["pause", id])
        #expect(paused["status"] as? String == "paused")
        _ = try Self.submit(relay, count: 6)
        #expect(Self.waitFor(10) { ((try? Self.hook(relay, id))?["pending"] as? Int) == 6 })
        #expect(receiver.requests.isEmpty, "a paused endpoint sends nothing")
        let (_, resumed) = try cli(["resume", id])
        #expect(resumed["status"] as? String == "active")
        #expect(Self.waitFor(30) { ((try? Self.hook(relay, id))?["delivered"] as? Int) == 6 })
        #expect(receiver.maxInFlight >= 1 && receiver.maxInFlight <= 2, "at most 2 calls at once: \(receiver.maxInFlight)")
        #expect(receiver.requests.count == 6 && receiver.events.allSatisfy { $0.body["type"] as? String == "accepted" })
        // Calls reuse kept-alive connections instead of connecting for each one.
        let connections = Set(receiver.requests.compactMap { $0["peer"] as? String })
        #expect(!connections.isEmpty && connections.count * 2 <= receiver.requests.count,
                "\(receiver.requests.count) calls over \(connections.count) connections")
        let (_, list) = try cli(["list", "--tenant", "acme"])
        #expect((list["webhooks"] as? [[String: Any]] ?? []).map { $0["id"] as? String } == [id])

        // Replay the time range: the same six webhook-ids arrive again.
        let first = Set(receiver.requests.compactMap { $0["id"] as? String })
        let (replayStatus, replayed) = try cli(["replay", id, "--since", "0"])
        #expect(replayStatus == 0 && replayed["replayed"] as? Int == 6, "\(replayed)")
        #expect(Self.waitFor(30) { receiver.requests.count == 12 })
        #expect(Set(receiver.requests.suffix(6).compactMap { $0["id"] as? String }) == first)
        // The receiver logs a call before it answers: the attempt is recorded a moment later.
        #expect(Self.waitFor(10) { ((try? cli(["attempts", id, "--limit", "100"]))?.1["attempts"] as? [[String: Any]] ?? []).count == 12 })
        let (deleted, _) = try cli(["delete", id])
        #expect(deleted == 0)
        let (missing, _) = try cli(["show", id])
        #expect(missing != 0)
    }

    @Test("One event the receiver always refuses does not hold the endpoint's other events back for its retry delay")
    func poisonEventDoesNotBlock() throws {
        let receiver = try WebhookReceiver(host: "127.51.0.7")
        defer { receiver.stop() }
        try receiver.start()
        var webhooks = Self.fastWebhooks
        webhooks["retryScheduleMillis"] = [600_000]
        webhooks["retryJitter"] = 0
        let relay = try RelayProcess(overlay: ["webhooks": webhooks])
        defer { relay.cleanUp() }
        let (_, created) = try SendingDomainTests.request(relay, "POST", "/v1/webhooks",
                                                          ["url": receiver.url, "tenant": "acme", "events": ["accepted"],
                                                           "concurrency": 1])
        let id = try #require(created["id"] as? String)
        _ = try Self.submit(relay, count: 1, localPart: "poison")
        #expect(Self.waitFor(30) { receiver.requests.count == 1 })
        _ = try Self.submit(relay, count: 4)
        // The refused call waits ten minutes for its retry; the others go now.
        #expect(Self.waitFor(30) { ((try? Self.hook(relay, id))?["delivered"] as? Int) == 4 }, "\((try? Self.hook(relay, id)) ?? [:])")
        #expect((try Self.hook(relay, id))["pending"] as? Int == 1)
        #expect(receiver.requests.filter { $0["status"] as? Int == 500 }.count == 1)
    }
}
