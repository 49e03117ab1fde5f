import Foundation
import Glibc
import Testing
import TestSupport

/// A provider outage through the binary: a receiver on 127.0.66.10 answers 421 to every
/// connection, the node parks the destination's due messages (no claim per retry), and when the
/// receiver recovers the breaker's capped open period ends, the probe delivers, and the rest follow.
@Suite("Parking through the binary during a provider outage", .serialized)
struct ParkingTests {
    static let send = """
    import smtplib, ssl, sys
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP(host, port, timeout=30)
    s.ehlo("client.test"); s.starttls(context=ctx); s.ehlo("client.test")
    s.login("alice", "s3cret-pass")
    for i in range(count):
        msg = ("From: app@origin.test\\r\\nTo: r%d@outage.test\\r\\nSubject: outage %d\\r\\n\\r\\nhello\\r\\n" % (i, i)).encode()
        s.sendmail("app@origin.test", ["r%d@outage.test" % i], msg)
    s.quit()
    """

    /// The value of metric `name` (unlabelled) in the node's /metrics, nil when absent.
    static func metric(_ relay: RelayProcess, _ name: String) throws -> Double? {
        let (_, body) = try relay.admin("/metrics")
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    /// Polls until `condition` holds or `timeout` seconds pass; returns it.
    static func wait(timeout: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(100_000)
        }
        return try condition()
    }

    @Test("a node killed while messages are parked loses none: after the restart they are delivered")
    func parkedSurviveKill() throws {
        let receiver = try OutageReceiver(ip: "127.0.66.11")
        defer { receiver.stop() }
        let relay = try RelayProcess(overlay: [
            "delivery": ["enabled": true, "retrySchedule": [1], "retryJitter": 0,
                         "circuitBreaker": ["failureThreshold": 2, "openSeconds": 600]],
            "routes": [["domain": "outage.test", "hosts": ["127.0.66.11:\(receiver.port)"], "tls": "none"]],
        ])
        defer { relay.cleanUp() }
        let out = try python(Self.send, ["127.0.0.1", String(relay.port("submission")), "6"])
        #expect(out.status == 0, "\(out.stderr)")
        let parked = try Self.wait { (try Self.metric(relay, "sendarix_deliveries_parked") ?? 0) >= 4 }
        #expect(parked, "\(relay.log())")
        relay.kill9()
        receiver.recover()
        try relay.launch()
        let delivered = try Self.wait { try relay.events("type=delivered&limit=100").count >= 6 }
        #expect(delivered, "\(receiver.journal) \(relay.log())")
        let received = Set(receiver.journal.filter { $0.hasPrefix("msg ") }.map { String($0.dropFirst(4)) })
        #expect(received == Set((0..<6).map { "r\($0)@outage.test" }))
    }

    @Test("421 for a while: due messages are parked, then all are delivered once the receiver answers 250")
    func parksThenDrains() throws {
        let receiver = try OutageReceiver()
        defer { receiver.stop() }
        let relay = try RelayProcess(overlay: [
            "delivery": ["enabled": true, "retrySchedule": [1], "retryJitter": 0,
                         "circuitBreaker": ["failureThreshold": 2, "openSeconds": 1, "maxOpenSeconds": 2]],
            "routes": [["domain": "outage.test", "hosts": ["127.0.66.10:\(receiver.port)"], "tls": "none"]],
        ])
        defer { relay.cleanUp() }
        let out = try python(Self.send, ["127.0.0.1", String(relay.port("submission")), "8"])
        #expect(out.status == 0, "\(out.stderr)")
        // Two failed attempts take the destination down; the retries coming due after that are parked.
        let parked = try Self.wait { (try Self.metric(relay, "sendarix_deliveries_parked_total") ?? 0) >= 1 }
        #expect(parked, "\(relay.log())")
        #expect(receiver.journal.contains("421"))
        #expect(!receiver.journal.contains { $0.hasPrefix("msg") })
        receiver.recover()
        let delivered = try Self.wait { try relay.events("type=delivered&limit=100").count >= 8 }
        #expect(delivered, "\(receiver.journal) \(relay.log())")
        let received = Set(receiver.journal.filter { $0.hasPrefix("msg ") }.map { String($0.dropFirst(4)) })
        #expect(received == Set((0..<8).map { "r\($0)@outage.test" }))
        #expect(relay.log().contains("delivery.destination_up"))
        #expect(try Self.metric(relay, "sendarix_deliveries_parked") == 0)
    }
}
