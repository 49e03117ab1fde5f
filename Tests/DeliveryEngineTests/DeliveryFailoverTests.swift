import DeliveryCore
import DeliveryEngine
import Foundation
import RelayConfig
import SpoolStore
import Testing

/// Connection-level failover between route hosts (connect refused, 421, stalls), circuit
/// breakers, lost connections and timeouts mid-transaction.
@Suite("Delivery failover")
struct DeliveryFailoverTests {
    /// A port on 127.0.0.1 that refuses connections for as long as the returned descriptor stays
    /// open: the socket is bound but never listens, so no other test can be given the port
    /// meanwhile. The caller closes `fd` when done (`defer { close(fd) }`).
    static func closedPort() throws -> (port: UInt16, fd: Int32) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClosedPortError(message: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { close(fd); throw ClosedPortError(message: "bind: errno \(errno)") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { close(fd); throw ClosedPortError(message: "getsockname: errno \(errno)") }
        return (UInt16(bigEndian: address.sin_port), fd)
    }

    struct ClosedPortError: Error { var message: String }

    /// How long a failover may take: at once in its own right, but a loaded machine needs room. A
    /// failover that does not happen shows in minutes (SMTP's 5 min reply timeouts, the message's
    /// retries at the same dead host), far beyond it.
    static let bound: Double = 30

    @Test("connection refused on the first host fails over to the second at once")
    func refusedFailsOver() throws {
        let good = try FakeSMTPServer()
        defer { good.stop() }
        let (dead, deadFD) = try Self.closedPort()
        defer { close(deadFD) }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [dead, good.port])]))
        defer { h.shutdown() }
        let started = Date()
        h.enqueue("f1", to: ["a@dest.test"])
        let events = h.waitForOutcome("f1", timeout: Self.bound)
        #expect(events.first?.type == .delivered, "\(h.logText)")
        #expect(events.first?.remoteHost?.hasSuffix(":\(good.port)") == true)
        #expect(Date().timeIntervalSince(started) < Self.bound)
        #expect(h.logText.contains("delivery.failover"))
    }

    @Test("a 421 greeting fails over to the next host within the bound")
    func greeting421FailsOver() throws {
        let busy = try FakeSMTPServer(behavior: .init(script: { $0.verb == "CONNECT" ? .line("421 4.3.2 busy, try later") : nil }))
        let good = try FakeSMTPServer()
        defer { busy.stop(); good.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [busy.port, good.port])]))
        defer { h.shutdown() }
        let started = Date()
        h.enqueue("f2", to: ["a@dest.test"])
        let events = h.waitForOutcome("f2", timeout: Self.bound)
        #expect(events.first?.type == .delivered)
        #expect(events.first?.remoteHost?.hasSuffix(":\(good.port)") == true)
        #expect(busy.connectionCount == 1 && good.messages.count == 1)
        #expect(Date().timeIntervalSince(started) < Self.bound)
    }

    @Test("a 421 after MAIL (before the body) also fails over to the next host")
    func mail421FailsOver() throws {
        let closing = try FakeSMTPServer(behavior: .init(script: { $0.verb == "MAIL" ? .line("421 4.7.0 closing connection") : nil }))
        let good = try FakeSMTPServer()
        defer { closing.stop(); good.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [closing.port, good.port])]))
        defer { h.shutdown() }
        h.enqueue("f3", to: ["a@dest.test"])
        #expect(h.waitForOutcome("f3").first?.type == .delivered)
        #expect(good.messages.count == 1)
    }

    @Test("a host that stalls at the greeting past the reply timeout is left for the next host")
    func stallFailsOver() throws {
        let stalled = try FakeSMTPServer(behavior: .init(script: { $0.verb == "CONNECT" ? .stall : nil }))
        let good = try FakeSMTPServer()
        defer { stalled.stop(); good.stop() }
        var options = EngineHarness.testOptions()
        options.replyTimeoutCap = 1 // the stall must time out
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [stalled.port, good.port])]),
                                  options: options)
        defer { h.shutdown() }
        let started = Date()
        h.enqueue("f4", to: ["a@dest.test"])
        #expect(h.waitForOutcome("f4", timeout: Self.bound).first?.type == .delivered)
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed >= 0.9 && elapsed < Self.bound)
    }

    @Test("when every host fails the recipients are deferred with the last failure (timeout class)")
    func allHostsFail() throws {
        let (dead1, dead1FD) = try Self.closedPort(), (dead2, dead2FD) = try Self.closedPort()
        defer { close(dead1FD); close(dead2FD) }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [dead1, dead2])]))
        defer { h.shutdown() }
        h.enqueue("f5", to: ["a@dest.test"])
        let event = h.waitForOutcome("f5").first
        #expect(event?.type == .deferred)
        #expect(event?.bounceClass == "timeout")
        #expect(event?.response?.contains("Connection refused") == true)
        #expect(event?.remoteHost?.hasSuffix(":\(dead2)") == true)
    }

    @Test("a connection dropped after RCPT defers (nothing delivered, no duplicate risk)")
    func droppedMidTransaction() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { $0.verb == "RCPT" ? .drop : nil }))
        defer { server.stop() }
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]))
        defer { h.shutdown() }
        h.enqueue("f6", to: ["a@dest.test"])
        let event = h.waitForOutcome("f6").first
        #expect(event?.type == .deferred)
        #expect(event?.smtpCode == 451)
        #expect(server.messages.isEmpty)
    }

    @Test("a receiver that stalls after the body times out and the message is deferred")
    func stallAfterBody() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { $0.verb == "BODY" ? .stall : nil }))
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.replyTimeoutCap = 1 // the stall must time out
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]),
                                  options: options)
        defer { h.shutdown() }
        h.enqueue("f7", to: ["a@dest.test"])
        let event = h.waitForOutcome("f7").first
        #expect(event?.type == .deferred)
        #expect(event?.response?.contains("timed out") == true)
    }

    @Test("the circuit breaker skips a host after repeated failures: no new connection to it")
    func circuitBreaker() throws {
        let busy = try FakeSMTPServer(behavior: .init(script: { $0.verb == "CONNECT" ? .line("421 4.3.2 busy") : nil }))
        let good = try FakeSMTPServer()
        defer { busy.stop(); good.stop() }
        var options = EngineHarness.testOptions()
        options.breakerThreshold = 1
        options.breakerOpenSeconds = 600
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [busy.port, good.port])]),
                                  options: options)
        defer { h.shutdown() }
        h.enqueue("b1", to: ["a@dest.test"])
        #expect(h.waitForOutcome("b1").first?.type == .delivered)
        h.enqueue("b2", to: ["b@dest.test"])
        h.enqueue("b3", to: ["c@dest.test"])
        #expect(h.waitForOutcome("b2").first?.type == .delivered)
        #expect(h.waitForOutcome("b3").first?.type == .delivered)
        #expect(busy.connectionCount == 1)
    }

    @Test("rate-limit replies suspend the provider: later messages are deferred locally without connecting")
    func adaptiveThrottle() throws {
        let server = try FakeSMTPServer(behavior: .init(script: { step in
            step.verb == "RCPT" ? .line("450 4.7.28 Our system has detected an unusual rate of unsolicited mail; rate limited") : nil
        }))
        defer { server.stop() }
        var options = EngineHarness.testOptions()
        options.throttle = AdaptiveThrottle.Configuration(suspendLevel: 1, suspendDuration: 600)
        let h = try EngineHarness(config: EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port])]),
                                  options: options)
        defer { h.shutdown() }
        h.enqueue("r1", to: ["a@dest.test"])
        let first = h.waitForOutcome("r1").first
        #expect(first?.type == .deferred)
        #expect(first?.bounceClass == "rate-limited")
        let connections = server.connectionCount
        h.enqueue("r2", to: ["b@dest.test"])
        let second = h.waitForOutcome("r2").first
        #expect(second?.type == .deferred)
        #expect(second?.response?.contains("paused") == true)
        #expect(server.connectionCount == connections)
    }
}
