import DeliveryCore
import DeliveryEngine
import Foundation
import NetworkIO
import RelayConfig
import SpoolStore
import Testing

/// TLS policies towards receivers: opportunistic STARTTLS, broken TLS fallback (remembered),
/// required TLS, certificate verification with a test CA, implicit TLS with AUTH.
@Suite("Delivery TLS")
struct DeliveryTLSTests {
    /// A self-signed certificate for `name`: (server context, certificate path). The files live in a
    /// temp directory that is removed at once unless `keep` is set (the caller then removes it).
    static func certificate(_ name: String, keep: Bool = false) throws -> (TLSContext, String) {
        let dir = NSTemporaryDirectory() + "sx-engine-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(atPath: dir) } }
        try TLSContext.generateSelfSigned(commonName: name, certificatePath: dir + "/cert.pem", keyPath: dir + "/key.pem")
        return (try TLSContext(serverCertificate: dir + "/cert.pem", privateKey: dir + "/key.pem"), dir + "/cert.pem")
    }

    @Test("opportunistic TLS: STARTTLS is used when offered and the message arrives over TLS")
    func opportunistic() throws {
        let (context, _) = try Self.certificate("mx.dest.test")
        let server = try FakeSMTPServer(behavior: .init(tls: context))
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port], tls: .opportunistic)]))
        defer { h.shutdown() }
        h.enqueue("t1", to: ["a@dest.test"])
        #expect(h.waitForOutcome("t1").first?.type == .delivered, "\(h.logText)")
        #expect(server.messages.first?.overTLS == true)
        #expect(server.commands.contains("STARTTLS"))
    }

    @Test("policy none never sends STARTTLS even when offered")
    func policyNone() throws {
        let (context, _) = try Self.certificate("mx.dest.test")
        let server = try FakeSMTPServer(behavior: .init(tls: context))
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port], tls: .none)]))
        defer { h.shutdown() }
        h.enqueue("t2", to: ["a@dest.test"])
        #expect(h.waitForOutcome("t2").first?.type == .delivered)
        #expect(server.messages.first?.overTLS == false)
        #expect(!server.commands.contains("STARTTLS"))
    }

    @Test("broken STARTTLS with opportunistic policy: retried in plain text at once, and the host is remembered")
    func brokenTLSFallback() throws {
        let (context, _) = try Self.certificate("mx.dest.test")
        let server = try FakeSMTPServer(behavior: .init(tls: context, breakTLS: true))
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.shaping = ShapingPolicy.Configuration(all: ShapingPolicy.Override(maxMessagesPerConnection: 1))
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port], tls: .opportunistic)]),
                                  options: options)
        defer { h.shutdown() }
        h.enqueue("t3", to: ["a@dest.test"])
        let events = h.waitForOutcome("t3")
        #expect(events.first?.type == .delivered, "\(h.logText)")
        #expect(events.first?.attempt == 1)
        #expect(server.messages.first?.overTLS == false)
        let startTLSBefore = server.commands.filter { $0 == "STARTTLS" }.count
        #expect(startTLSBefore == 1)
        h.enqueue("t4", to: ["b@dest.test"])
        #expect(h.waitForOutcome("t4").first?.type == .delivered)
        #expect(server.commands.filter { $0 == "STARTTLS" }.count == 1)
    }

    @Test("a receiver refusing STARTTLS with 454: opportunistic continues in plain text, required defers")
    func startTLSRefused() throws {
        let (context, _) = try Self.certificate("mx.dest.test")
        let server = try FakeSMTPServer(behavior: .init(tls: context, script: { step in
            step.verb == "STARTTLS" ? .line("454 4.7.0 TLS not available due to temporary reason") : nil
        }))
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [
            EngineHarness.route("plain.test", [server.port], tls: .opportunistic),
            EngineHarness.route("strict.test", [server.port], tls: .required)]))
        defer { h.shutdown() }
        h.enqueue("r1", to: ["a@plain.test"])
        h.enqueue("r2", to: ["a@strict.test"])
        #expect(h.waitForOutcome("r1").first?.type == .delivered)
        let strict = h.waitForOutcome("r2").first
        #expect(strict?.type == .deferred)
        #expect(strict?.bounceClass == "tls-failure", "\(String(describing: strict))")
        #expect(server.messages.map(\.recipients) == [["a@plain.test"]])
    }

    @Test("required TLS towards a server without STARTTLS defers with a TLS failure and sends nothing")
    func requiredNotOffered() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port], tls: .required)]))
        defer { h.shutdown() }
        h.enqueue("t5", to: ["a@dest.test"])
        let event = h.waitForOutcome("t5").first
        #expect(event?.type == .deferred)
        #expect(event?.bounceClass == "tls-failure", "\(String(describing: event))")
        #expect(!server.commands.contains { $0.hasPrefix("MAIL") })
    }

    @Test("verify policy: a certificate for the route host that chains to the CA file is accepted")
    func verifyAccepts() throws {
        let (context, caFile) = try Self.certificate("mx.dest.test", keep: true)
        defer { try? FileManager.default.removeItem(atPath: (caFile as NSString).deletingLastPathComponent) }
        let server = try FakeSMTPServer(behavior: .init(tls: context))
        defer { server.stop() }
        let dns = try startZone("dest.test", addresses: ["127.0.0.1"])
        defer { dns.stop() }
        var options = EngineHarness.testOptions()
        options.caFile = caFile
        let route = EngineHarness.route("dest.test", [server.port], tls: .verify, host: "mx.dest.test")
        let h = try EngineHarness(config: EngineHarness.config(routes: [route], nameservers: ["127.0.0.1:\(dns.port)"]), options: options)
        defer { h.shutdown() }
        h.enqueue("t6", to: ["a@dest.test"])
        let event = h.waitForOutcome("t6").first
        #expect(event?.type == .delivered, "\(h.logText)")
        #expect(event?.remoteHost?.hasPrefix("mx.dest.test[127.0.0.1]") == true)
        #expect(server.messages.first?.overTLS == true)
    }

    @Test("verify policy: a certificate for another name is refused and the message deferred, not sent in clear")
    func verifyRefusesWrongName() throws {
        let (context, caFile) = try Self.certificate("other.example", keep: true)
        defer { try? FileManager.default.removeItem(atPath: (caFile as NSString).deletingLastPathComponent) }
        let server = try FakeSMTPServer(behavior: .init(tls: context))
        defer { server.stop() }
        let dns = try startZone("dest.test", addresses: ["127.0.0.1"])
        defer { dns.stop() }
        var options = EngineHarness.testOptions()
        options.caFile = caFile
        let route = EngineHarness.route("dest.test", [server.port], tls: .verify, host: "mx.dest.test")
        let h = try EngineHarness(config: EngineHarness.config(routes: [route], nameservers: ["127.0.0.1:\(dns.port)"]), options: options)
        defer { h.shutdown() }
        h.enqueue("t7", to: ["a@dest.test"])
        let event = h.waitForOutcome("t7").first
        #expect(event?.type == .deferred)
        #expect(event?.bounceClass == "tls-failure", "\(String(describing: event))")
        #expect(server.messages.isEmpty)
        #expect(!server.commands.contains { $0.hasPrefix("MAIL") })
    }

    @Test("implicit TLS smart host with AUTH: credentials from the route are used and the message delivered")
    func implicitTLSWithAuth() throws {
        let (context, _) = try Self.certificate("smarthost.test")
        let server = try FakeSMTPServer(behavior: .init(tls: context, implicitTLS: true, auth: ("relayuser", "s3cret")))
        defer { server.stop() }
        let auth = RelayConfig.RouteAuth(username: "relayuser", passwordFile: "/unused", password: "s3cret")
        let h = try EngineHarness(config: EngineHarness.config(routes: [
            EngineHarness.route("*", [server.port], tls: .required, implicitTLS: true, auth: auth)]))
        defer { h.shutdown() }
        h.enqueue("t8", to: ["someone@anywhere.test"])
        #expect(h.waitForOutcome("t8").first?.type == .delivered, "\(h.logText)")
        #expect(server.records.withLock { $0.authenticated } == ["relayuser"])
        #expect(server.messages.first?.overTLS == true)
    }

    @Test("wrong smart-host credentials defer (never bounce) the message")
    func authFailureDefers() throws {
        let (context, _) = try Self.certificate("smarthost.test")
        let server = try FakeSMTPServer(behavior: .init(tls: context, auth: ("relayuser", "s3cret")))
        defer { server.stop() }
        let auth = RelayConfig.RouteAuth(username: "relayuser", passwordFile: "/unused", password: "wrong")
        let h = try EngineHarness(config: EngineHarness.config(routes: [
            EngineHarness.route("*", [server.port], tls: .required, auth: auth)]))
        defer { h.shutdown() }
        h.enqueue("t9", to: ["someone@anywhere.test"])
        let event = h.waitForOutcome("t9").first
        #expect(event?.type == .deferred, "\(String(describing: event))")
        #expect(event?.response?.contains("535") == true)
        #expect(server.messages.isEmpty)
    }
}
