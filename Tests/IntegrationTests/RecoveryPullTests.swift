import Foundation
import Glibc
import Testing
import TestSupport

/// A destination that comes back after an outage, through the binary (issue 16): with parking's
/// memory bound at one message (`SENDARIX_MAX_PARKED=1`) the down destination's mail is postponed
/// durably by at least 300 s; when the receiver (127.88.2.x) answers again the postponed mail is
/// pulled forward and delivered within seconds, fresh mail with it, and a node killed while
/// pulling loses nothing.
@Suite("Recovery pull through the binary", .serialized)
struct RecoveryPullTests {
    static let send = """
    import smtplib, ssl, sys
    host, port, prefix, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP(host, port, timeout=30)
    s.ehlo("client.test"); s.starttls(context=ctx); s.ehlo("client.test")
    s.login("alice", "s3cret-pass")
    for i in range(count):
        rcpt = "%s%d@outage.test" % (prefix, i)
        msg = ("From: app@origin.test\\r\\nTo: %s\\r\\nSubject: outage %d\\r\\n\\r\\nhello\\r\\n" % (rcpt, i)).encode()
        s.sendmail("app@origin.test", [rcpt], msg)
    s.quit()
    """

    static func relay(_ receiver: OutageReceiver, ip: String, pull: Int) throws -> RelayProcess {
        var env = ProcessInfo.processInfo.environment
        env["SENDARIX_MAX_PARKED"] = "1"
        env["SENDARIX_RECOVERY_PULL"] = String(pull)
        return try RelayProcess(overlay: [
            "delivery": ["enabled": true, "retrySchedule": [1], "retryJitter": 0,
                         "circuitBreaker": ["failureThreshold": 2, "openSeconds": 1, "maxOpenSeconds": 2]],
            "routes": [["domain": "outage.test", "hosts": ["\(ip):\(receiver.port)"], "tls": "none"]],
        ], environment: env)
    }

    static func metric(_ relay: RelayProcess, _ name: String) throws -> Double { try ParkingTests.metric(relay, name) ?? 0 }

    /// After a kill -9 and restart mid-pull: waits until every one of `total` messages is at a
    /// receiver (`received`) or queued, with nothing in flight; true when it got there. The message
    /// for the caller's expectation names the counts.
    static func accountedAfterRestart(_ relay: RelayProcess, total: Int,
                                      received: @escaping () -> Int) throws -> (Bool, String) {
        let accounted = try ParkingTests.wait(timeout: 30) {
            let queued = Int(try metric(relay, "sendarix_queue_messages"))
            let inFlight = try metric(relay, "sendarix_deliveries_in_flight")
            return received() + queued == total && inFlight == 0
        }
        let queued = try metric(relay, "sendarix_queue_messages")
        return (accounted, "received \(received()), queued \(queued) \(relay.log().suffix(2_000))")
    }

    static func received(_ receiver: OutageReceiver) -> Set<String> {
        Set(receiver.journal.filter { $0.hasPrefix("msg ") }.map { String($0.dropFirst(4)) })
    }

    @Test("postponed mail (due 300 s or more later) is delivered within seconds of the receiver's recovery, and fresh mail too")
    func pulledForward() throws {
        let receiver = try OutageReceiver(ip: "127.88.2.1")
        defer { receiver.stop() }
        let relay = try Self.relay(receiver, ip: "127.88.2.1", pull: 64)
        defer { relay.cleanUp() }
        let out = try python(Self.send, ["127.0.0.1", String(relay.port("submission")), "p", "8"])
        #expect(out.status == 0, "\(out.stderr)")
        let postponed = try ParkingTests.wait(timeout: 30) { try Self.metric(relay, "sendarix_deliveries_postponed_total") >= 5 }
        #expect(postponed, "\(relay.log())")
        receiver.recover()
        #expect(ParkingTests.wait(timeout: 30) { relay.log().contains("delivery.destination_up") }, "\(relay.log())")
        let fresh = try python(Self.send, ["127.0.0.1", String(relay.port("submission")), "f", "2"])
        #expect(fresh.status == 0, "\(fresh.stderr)")
        let all = Set((0..<8).map { "p\($0)@outage.test" } + (0..<2).map { "f\($0)@outage.test" })
        // Without the pull the postponed messages would come due 300 s or more after their postpone.
        #expect(ParkingTests.wait(timeout: 60) { Self.received(receiver) == all },
                "\(Self.received(receiver).sorted()) \(relay.log().suffix(3_000))")
        #expect(try Self.metric(relay, "sendarix_deliveries_pulled_total") >= 5)
        #expect(relay.log().contains("delivery.recovery_pull"))
    }

    @Test("a node killed while pulling loses nothing: every message is delivered or still queued")
    func killWhilePulling() throws {
        let receiver = try OutageReceiver(ip: "127.88.2.2")
        defer { receiver.stop() }
        let relay = try Self.relay(receiver, ip: "127.88.2.2", pull: 1)
        defer { relay.cleanUp() }
        let out = try python(Self.send, ["127.0.0.1", String(relay.port("submission")), "k", "12"])
        #expect(out.status == 0, "\(out.stderr)")
        let postponed = try ParkingTests.wait(timeout: 30) { try Self.metric(relay, "sendarix_deliveries_postponed_total") >= 8 }
        #expect(postponed, "\(relay.log())")
        receiver.recover()
        let pulling = try ParkingTests.wait(timeout: 30) { try Self.metric(relay, "sendarix_deliveries_pulled_total") >= 1 }
        #expect(pulling, "\(relay.log())")
        relay.kill9()
        try relay.launch()
        // After the restart the rest keep their postponed due times (the pull is not durable):
        // each message is at the receiver or in the queue, none is lost.
        let (accounted, counts) = try Self.accountedAfterRestart(relay, total: 12) { Self.received(receiver).count }
        #expect(accounted, "\(counts)")
        #expect(Self.received(receiver).isSubset(of: Set((0..<12).map { "k\($0)@outage.test" })))
    }
}
