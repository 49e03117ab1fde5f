import DeliveryCore
import DeliveryEngine
import Foundation
import RelayConfig
import SpoolStore
import Testing

/// SMTP extensions as the engine uses them against a receiver: SIZE, CHUNKING, 8BITMIME,
/// SMTPUTF8, and the source address of outgoing connections.
@Suite("Delivery SMTP extensions")
struct DeliveryExtensionTests {
    static let eightBitBody = Array("From: a@origin.test\r\nSubject: cafe\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nd\u{e9}j\u{e0} vu\r\n".utf8)

    @Test("a message larger than the receiver's SIZE bounces with 552 5.3.4 and is never sent")
    func sizeLimit() throws {
        let server = try FakeSMTPServer(behavior: .init(extensions: ["PIPELINING", "SIZE 100", "8BITMIME"]))
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]))
        defer { h.shutdown() }
        h.enqueue("z1", to: ["a@dest.test"], body: Array(repeating: UInt8(ascii: "x"), count: 400) + [13, 10])
        let event = h.waitForOutcome("z1").first
        #expect(event?.type == .bounced)
        #expect(event?.smtpCode == 552 && event?.enhancedCode == "5.3.4")
        #expect(event?.bounceClass == "message-too-large")
        #expect(!server.commands.contains { $0.hasPrefix("MAIL") })
    }

    @Test("CHUNKING: the body goes with BDAT and arrives byte for byte")
    func chunking() throws {
        let server = try FakeSMTPServer(behavior: .init(extensions: ["PIPELINING", "8BITMIME", "CHUNKING"]))
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]))
        defer { h.shutdown() }
        let body = Array("Subject: chunks\r\n\r\n.leading dot\r\nline\r\n".utf8)
        h.enqueue("z2", to: ["a@dest.test"], body: body)
        #expect(h.waitForOutcome("z2").first?.type == .delivered)
        #expect(server.commands.contains { $0.hasPrefix("BDAT") })
        #expect(server.messages.first?.data == body)
    }

    @Test("an 8-bit message to a receiver without 8BITMIME is converted to quoted-printable and delivered")
    func eightBitDowngrade() throws {
        let server = try FakeSMTPServer(behavior: .init(extensions: ["PIPELINING"]))
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]))
        defer { h.shutdown() }
        h.enqueue("z3", to: ["a@dest.test"], body: Self.eightBitBody)
        #expect(h.waitForOutcome("z3").first?.type == .delivered)
        let data = server.messages.first?.data ?? []
        #expect(!data.contains { $0 >= 0x80 })
        #expect(String(decoding: data, as: UTF8.self).contains("quoted-printable"))
    }

    @Test("a message needing SMTPUTF8 to a receiver without it bounces with 553 5.6.7")
    func smtpUTF8Missing() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]))
        defer { h.shutdown() }
        h.enqueue("z4", to: ["j\u{f6}rg@dest.test"])
        let event = h.waitForOutcome("z4").first
        #expect(event?.type == .bounced)
        #expect(event?.smtpCode == 553 && event?.enhancedCode == "5.6.7")
        #expect(server.messages.isEmpty)
    }

    @Test("a source address whose IP reputation is blocked is deprioritised: the next message leaves from the other one")
    func sourceDeprioritised() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { step in
            step.verb == "RCPT" && step.clientIP == "127.0.0.2"
                ? .line("451 4.7.650 The mail server [127.0.0.2] has been temporarily rate limited due to IP reputation.") : nil
        }))
        defer { server.stop() }
        var config = EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])])
        config.delivery.sourceAddresses = [IPAddress("127.0.0.2")!, IPAddress("127.0.0.3")!]
        var options = EngineHarness.testOptions()
        options.retrySteps = [600] // w1 must not come back (a third connection) during the test
        options.shaping = ShapingPolicy.Configuration(all: ShapingPolicy.Override(maxMessagesPerConnection: 1))
        let h = try EngineHarness(config: config, options: options)
        defer { h.shutdown() }
        h.enqueue("w1", to: ["a@dest.test"])
        #expect(h.waitForOutcome("w1").first?.bounceClass == "reputation-block")
        h.enqueue("w2", to: ["b@dest.test"])
        #expect(h.waitForOutcome("w2").first?.type == .delivered)
        #expect(server.records.withLock { $0.clientIPs } == ["127.0.0.2", "127.0.0.3"])
    }

    @Test("a cold (warming-up) source address never carries failover traffic")
    func coldAddressNoFailover() throws {
        let good = try FakeSMTPServer()
        defer { good.stop() }
        let (dead, deadFD) = try DeliveryFailoverTests.closedPort()
        defer { close(deadFD) }
        var options = EngineHarness.testOptions()
        let now = Date().timeIntervalSince1970
        options.sourceIPs = [IPWarmup.SourceIP("127.0.0.2", warmupStartedAt: now), IPWarmup.SourceIP("127.0.0.3")]
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [dead, good.port])]),
                                  options: options)
        defer { h.shutdown() }
        h.enqueue("w3", to: ["a@dest.test"])
        #expect(h.waitForOutcome("w3").first?.type == .delivered, "\(h.logText)")
        // The first try (to the dead host) may use the cold address; the failover must not.
        #expect(good.records.withLock { $0.clientIPs } == ["127.0.0.3"])
    }

    @Test("outgoing connections bind the configured source address")
    func sourceAddress() throws {
        let server = try FakeSMTPServer()
        defer { server.stop() }
        var config = EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])])
        config.delivery.sourceAddresses = [IPAddress("127.0.0.2")!]
        let h = try EngineHarness(config: config)
        defer { h.shutdown() }
        h.enqueue("z5", to: ["a@dest.test"])
        #expect(h.waitForOutcome("z5").first?.type == .delivered)
        #expect(server.records.withLock { $0.clientIPs } == ["127.0.0.2"])
    }
}
