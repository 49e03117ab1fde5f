import DeliveryCore
import DeliveryEngine
import Foundation
import RelayConfig
import SpoolStore
import Testing

/// Outcomes of single attempts against the scriptable receiver: delivered, per-recipient
/// failures, greylisting, deferrals and bounces at each stage, suppression, expiry, DSNs.
@Suite("Delivery outcomes")
struct DeliveryOutcomeTests {
    @Test("a queued message is delivered over a static route and the delivered event carries code, host and attempt")
    func delivers() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]))
        defer { h.shutdown() }
        h.enqueue("m1", to: ["a@dest.test", "b@dest.test"])
        let events = h.waitForOutcome("m1", count: 2)
        #expect(events.map(\.type) == [.delivered, .delivered], "\(h.logText)")
        #expect(events.allSatisfy { $0.smtpCode == 250 && $0.attempt == 1 })
        #expect(events.allSatisfy { ($0.remoteHost ?? "").contains("127.0.0.1") && ($0.remoteHost ?? "").contains(":\(server.port)") })
        #expect(events.first?.enhancedCode == "2.0.0")
        #expect(events.first?.response?.hasPrefix("250 2.0.0") == true)
        #expect(h.wait { h.isDone("m1") })
        let messages = server.messages
        #expect(messages.count == 1)
        #expect(messages.first?.mailFrom == "sender@origin.test")
        #expect(messages.first?.recipients == ["a@dest.test", "b@dest.test"])
        let received = String(decoding: messages.first?.data ?? [], as: UTF8.self)
        #expect(received.contains("\r\nhello\r\n.dot line\r\n"))
    }

    @Test("one rejected RCPT bounces only that recipient (bad-mailbox, suppressed afterwards); the other is delivered")
    func perRecipient() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { step in
            step.verb == "RCPT" && step.argument.contains("nobody@") ? .line("550 5.1.1 <nobody@dest.test>: user unknown") : nil
        }))
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]))
        defer { h.shutdown() }
        h.enqueue("m2", to: ["nobody@dest.test", "ok@dest.test"])
        let events = h.waitForOutcome("m2", count: 2)
        let bounced = events.first { $0.recipient == "nobody@dest.test" }
        #expect(bounced?.type == .bounced)
        #expect(bounced?.smtpCode == 550)
        #expect(bounced?.enhancedCode == "5.1.1")
        #expect(bounced?.bounceClass == "bad-mailbox")
        #expect(events.first { $0.recipient == "ok@dest.test" }?.type == .delivered)
        #expect(h.wait { ((try? h.store.suppression(tenant: "acme", address: "nobody@dest.test")) ?? nil) != nil })
        #expect(server.messages.first?.recipients == ["ok@dest.test"])
    }

    @Test("450 greylisting with a named wait defers until that wait, then the retry delivers")
    func greylisting() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { step in
            step.verb == "RCPT" && step.connection == 1
                ? .line("450 4.2.0 <a@dest.test>: Recipient address rejected: Greylisted, retry in 2 seconds") : nil
        }))
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.retrySteps = [600] // only the greylisting hint can make the retry come this soon
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]),
                                  options: options)
        defer { h.shutdown() }
        h.enqueue("m3", to: ["a@dest.test"])
        let events = h.waitForOutcome("m3", count: 2, timeout: 15)
        #expect(events.map(\.type) == [.deferred, .delivered], "\(h.logText)")
        #expect(events.first?.bounceClass == "greylisted")
        #expect(events.first?.smtpCode == 450)
        if events.count == 2 {
            // The retry time is computed a few ms before the deferral event is stamped.
            #expect(events[1].timestampMillis - events[0].timestampMillis >= 1_900)
            #expect(events[1].attempt == 2)
        }
    }

    @Test("temporary replies at MAIL, RCPT and DATA defer with their codes; nothing is received")
    func temporaryStages() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { step in
            switch step.verb {
            case "MAIL" where step.argument.contains("mail451"): return .line("451 4.3.0 local error in processing")
            case "RCPT" where step.argument.contains("full@"): return .line("452 4.2.2 mailbox full, try later")
            case "DATA" where step.connection >= 1: return .line("451 4.3.0 try DATA later")
            default: return nil
            }
        }))
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.retrySteps = [600]
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]),
                                  options: options)
        defer { h.shutdown() }
        h.enqueue("t1", to: ["a@dest.test"], from: "mail451@origin.test")
        h.enqueue("t2", to: ["full@dest.test"])
        h.enqueue("t3", to: ["x@dest.test"])
        let e1 = h.waitForOutcome("t1"), e2 = h.waitForOutcome("t2"), e3 = h.waitForOutcome("t3")
        #expect(e1.first?.type == .deferred && e1.first?.smtpCode == 451)
        #expect(e2.first?.type == .deferred && e2.first?.smtpCode == 452)
        #expect(e3.first?.type == .deferred && e3.first?.smtpCode == 451)
        #expect(server.messages.isEmpty)
        let queued = try h.store.message(id: "t2")
        #expect(queued?.recipients.first?.status == .deferred)
        #expect((queued?.recipients.first?.nextAttemptAt ?? 0) > Int64(Date().timeIntervalSince1970 * 1000) + 500_000)
    }

    @Test("552 and 554 after the body bounce (message-too-large / policy) without suppressing the address")
    func permanentAfterBody() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { step in
            guard step.verb == "BODY" else { return nil }
            return step.connection == 1 ? .line("552 5.3.4 Message size exceeds fixed limit")
                : .line("554 5.7.1 Message rejected due to content restrictions")
        }))
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.shaping = ShapingPolicy.Configuration(all: ShapingPolicy.Override(maxConnections: 1, maxMessagesPerConnection: 1))
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]),
                                  options: options)
        defer { h.shutdown() }
        h.enqueue("p1", to: ["big@dest.test"])
        let e1 = h.waitForOutcome("p1")
        h.enqueue("p2", to: ["spam@dest.test"])
        let e2 = h.waitForOutcome("p2")
        #expect(e1.first?.type == .bounced && e1.first?.smtpCode == 552 && e1.first?.bounceClass == "message-too-large")
        #expect(e2.first?.type == .bounced && e2.first?.smtpCode == 554)
        h.settle()
        #expect(try h.store.suppression(tenant: "acme", address: "big@dest.test") == nil)
    }

    @Test("a suppressed recipient gets a suppressed event and is not sent; the others are")
    func suppressed() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]))
        defer { h.shutdown() }
        h.propose(.suppress(SpoolCommand.Suppression(tenant: "acme", address: "gone@dest.test", reason: "manual", createdAt: 1)))
        h.enqueue("s1", to: ["gone@dest.test", "here@dest.test"])
        let events = h.waitForOutcome("s1", count: 2)
        #expect(events.first { $0.recipient == "gone@dest.test" }?.type == .suppressed)
        #expect(events.first { $0.recipient == "here@dest.test" }?.type == .delivered)
        #expect(server.messages.first?.recipients == ["here@dest.test"])
    }

    @Test("a message older than the queue lifetime bounces without a connection; never refused for its address, it suppresses nobody")
    func expired() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]))
        defer { h.shutdown() }
        let old = Int64(Date().timeIntervalSince1970 * 1000) - 3_601_000
        h.enqueue("x1", to: ["late@dest.test"], receivedAt: old)
        let events = h.waitForOutcome("x1")
        #expect(events.first?.type == .bounced)
        #expect(events.first?.enhancedCode == "5.4.7")
        #expect(events.first?.bounceClass == "timeout")
        #expect(server.connectionCount == 0)
        h.settle()
        #expect(try h.store.suppression(tenant: "acme", address: "late@dest.test") == nil)
    }

    @Test("a soft failure that lasts the whole queue lifetime becomes a hard bounce carrying the last error; not about the address, it suppresses nobody")
    func softFailureExpires() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { $0.verb == "RCPT" ? .line("451 4.3.0 temporary trouble") : nil }))
        defer { server.stop() }
        var config = EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])])
        config.delivery.maxLifetimeSeconds = 6 // the first attempt must fit in the lifetime even on a loaded machine
        let h = try EngineHarness(config: config)
        defer { h.shutdown() }
        h.enqueue("e1", to: ["slow@dest.test"], notify: [.failure])
        let events = h.waitForOutcome("e1", type: .bounced, timeout: 30)
        #expect(events.first?.type == .deferred)
        let bounce = events.last
        #expect(bounce?.type == .bounced, "\(events)")
        #expect(bounce?.enhancedCode == "5.4.7")
        #expect(bounce?.response?.contains("temporary trouble") == true)
        #expect(events.count >= 2)
        h.settle()
        #expect(try h.store.suppression(tenant: "acme", address: "slow@dest.test") == nil)
    }

    @Test("a temporary refusal of the address itself at RCPT (450 4.1.1) that lasts the whole queue lifetime suppresses it as expired; a rate limit beside it does not")
    func addressDeferralExpires() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { step in
            guard step.verb == "RCPT" else { return nil }
            return step.argument.contains("gone@") ? .line("450 4.1.1 <gone@dest.test>: Recipient address rejected: mailbox unavailable")
                : .line("421 4.7.28 rate limited, try again later")
        }))
        defer { server.stop() }
        var config = EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])])
        config.delivery.maxLifetimeSeconds = 6
        let h = try EngineHarness(config: config)
        defer { h.shutdown() }
        h.enqueue("e2", to: ["gone@dest.test"])
        h.enqueue("e3", to: ["busy@dest.test"])
        #expect(h.waitForOutcome("e2", type: .bounced, timeout: 30).last?.type == .bounced)
        #expect(h.waitForOutcome("e3", type: .bounced, timeout: 30).last?.type == .bounced)
        #expect(h.wait { ((try? h.store.suppression(tenant: "acme", address: "gone@dest.test")) ?? nil)?.reason == "expired" })
        h.settle()
        #expect(try h.store.suppression(tenant: "acme", address: "busy@dest.test") == nil)
    }

    @Test("NOTIFY=FAILURE: a hard bounce enqueues an RFC 3464 DSN from <> to the sender, which is delivered")
    func dsnOnFailure() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { step in
            step.verb == "RCPT" && step.argument.contains("bad@") ? .line("550 5.1.1 no such user") : nil
        }))
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port]),
                                                                        EngineHarness.route("origin.test", [server.port])]))
        defer { h.shutdown() }
        h.enqueue("d1", to: ["bad@dest.test"], notify: [.failure])
        h.waitForOutcome("d1")
        #expect(h.wait { server.messages.contains { $0.mailFrom.isEmpty } }, "\(h.logText)")
        let dsn = server.messages.first { $0.mailFrom.isEmpty }
        #expect(dsn?.recipients == ["sender@origin.test"])
        let text = String(decoding: dsn?.data ?? [], as: UTF8.self)
        #expect(text.contains("multipart/report"))
        #expect(text.contains("bad@dest.test"))
        #expect(h.waitForOutcome("d1-dsn1").first?.type == .delivered)
    }

    @Test("NOTIFY=SUCCESS: a receiver without DSN gets a 'relayed' DSN sent back; one with DSN gets NOTIFY passed on instead")
    func successNotification() throws {
        let plain = try FakeSMTPServer()
        let dsnCapable = try FakeSMTPServer(behavior: .init(extensions: ["PIPELINING", "8BITMIME", "DSN"]))
        defer { plain.stop(); dsnCapable.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("plain.test", [plain.port]),
                                                                        EngineHarness.route("dsn.test", [dsnCapable.port]),
                                                                        EngineHarness.route("origin.test", [plain.port])]))
        defer { h.shutdown() }
        h.enqueue("ok1", to: ["a@plain.test"], notify: [.success])
        h.enqueue("ok2", to: ["b@dsn.test"], notify: [.success])
        #expect(h.waitForOutcome("ok1").first?.type == .delivered)
        #expect(h.waitForOutcome("ok2").first?.type == .delivered)
        #expect(h.waitForOutcome("ok1-dsn1").first?.type == .delivered, "\(h.logText)")
        let report = plain.messages.first { $0.mailFrom.isEmpty }.map { String(decoding: $0.data, as: UTF8.self) } ?? ""
        #expect(report.contains("Action: relayed"))
        h.settle()
        #expect(try h.store.message(id: "ok2-dsn1") == nil)
        #expect(h.outcomes("ok2-dsn1").isEmpty)
        #expect(dsnCapable.commands.contains { $0.hasPrefix("RCPT TO:<b@dsn.test>") && $0.contains("NOTIFY=SUCCESS") })
    }

    @Test("without NOTIFY no DSN is sent for a bounce, and a null-sender message never gets one")
    func noDSNWithoutNotify() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { step in
            step.verb == "RCPT" ? .line("550 5.1.1 no such user") : nil
        }))
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("*", [server.port])]))
        defer { h.shutdown() }
        h.enqueue("n1", to: ["bad@dest.test"])
        h.enqueue("n2", to: ["bad2@dest.test"], from: "", notify: [.failure])
        // Both must really have bounced (an engine that never runs must not pass) before the
        // absence of a DSN means anything.
        let n1 = h.waitForOutcome("n1")
        let n2 = h.waitForOutcome("n2")
        #expect(n1.map(\.type) == [.bounced], "\(h.logText)")
        #expect(n1.first?.smtpCode == 550 && n1.first?.enhancedCode == "5.1.1")
        #expect(n2.map(\.type) == [.bounced], "\(h.logText)")
        #expect(n2.first?.smtpCode == 550)
        #expect(h.wait { h.isDone("n1") && h.isDone("n2") })
        h.settle()
        #expect(h.outcomes("n1-dsn1").isEmpty)
        #expect(try h.store.message(id: "n1-dsn1") == nil)
        #expect(h.outcomes("n2-dsn1").isEmpty)
        #expect(try h.store.message(id: "n2-dsn1") == nil)
        #expect(server.messages.isEmpty)
        #expect(server.commands.filter { $0.hasPrefix("RCPT TO:") }.count == 2, "\(server.commands)")
    }
}
