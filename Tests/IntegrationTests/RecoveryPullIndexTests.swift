import Foundation
import Glibc
import Testing
import TestSupport

/// The recovery pull through the binary with two destinations postponed (issue 16): receivers on
/// 127.97.2.x answer 421 until told otherwise; with parking's memory bound at six messages the
/// rest of the mail of both is postponed durably (300 s or more); one receiver recovers and its destination's
/// postponed mail is pulled (from the spool's postponed table) while the other's stays postponed;
/// the node is killed with -9 while pulling and loses nothing.
@Suite("Recovery pull per destination through the binary", .serialized)
struct RecoveryPullIndexTests {
    static let send = """
    import smtplib, ssl, sys
    host, port, prefix, domain, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP(host, port, timeout=30)
    s.ehlo("client.test"); s.starttls(context=ctx); s.ehlo("client.test")
    s.login("alice", "s3cret-pass")
    for i in range(count):
        rcpt = "%s%d@%s" % (prefix, i, domain)
        msg = ("From: app@origin.test\\r\\nTo: %s\\r\\nSubject: outage %d\\r\\n\\r\\nhello\\r\\n" % (rcpt, i)).encode()
        s.sendmail("app@origin.test", [rcpt], msg)
    s.quit()
    """

    @Test("one of two postponed destinations recovers: its mail is pulled and delivered, the other's is not touched, and a kill -9 while pulling loses nothing")
    func oneOfTwo() throws {
        let back = try OutageReceiver(ip: "127.97.2.1")
        defer { back.stop() }
        let still = try OutageReceiver(ip: "127.97.2.2")
        defer { still.stop() }
        var env = ProcessInfo.processInfo.environment
        // Parking holds 6 (the first of back.test's, sent first: its probes); the rest is postponed.
        env["SENDARIX_MAX_PARKED"] = "6"
        env["SENDARIX_RECOVERY_PULL"] = "1"
        let relay = try RelayProcess(overlay: [
            "delivery": ["enabled": true, "retrySchedule": [1], "retryJitter": 0,
                         "circuitBreaker": ["failureThreshold": 2, "openSeconds": 1, "maxOpenSeconds": 2]],
            "routes": [["domain": "back.test", "hosts": ["127.97.2.1:\(back.port)"], "tls": "none"],
                       ["domain": "still.test", "hosts": ["127.97.2.2:\(still.port)"], "tls": "none"]],
        ], environment: env)
        defer { relay.cleanUp() }
        let port = String(relay.port("submission"))
        for (prefix, domain) in [("k", "back.test"), ("s", "still.test")] {
            let out = try python(Self.send, ["127.0.0.1", port, prefix, domain, "20"])
            #expect(out.status == 0, "\(out.stderr)")
        }
        let postponed = try ParkingTests.wait(timeout: 30) { try RecoveryPullTests.metric(relay, "sendarix_deliveries_postponed_total") >= 24 }
        #expect(postponed, "\(relay.log())")
        // A probe fails after every message was postponed: none is mail the node postponed only
        // because it had not seen the destination back (pulled first, from memory); the pull has
        // to find them all in the spool.
        let refusals = back.journal.filter { $0 == "421" }.count
        #expect(ParkingTests.wait(timeout: 30) { back.journal.filter { $0 == "421" }.count > refusals }, "\(back.journal)")
        back.recover()
        let pulling = try ParkingTests.wait(timeout: 30) {
            try RecoveryPullTests.metric(relay, "sendarix_deliveries_pulled_total") >= 3 && RecoveryPullTests.received(back).count >= 2
        }
        #expect(pulling, "\(RecoveryPullTests.received(back)) \(relay.log().suffix(3_000))")
        let received = RecoveryPullTests.received(back)
        #expect(received.isSubset(of: Set((0..<20).map { "k\($0)@back.test" })), "\(received)")
        #expect(RecoveryPullTests.received(still).isEmpty, "still.test is down")
        relay.kill9()
        try relay.launch()
        // After the restart what the pull had not reached keeps its postponed due time: each message
        // is at its receiver or in the queue, none lost, none of still.test's delivered.
        let (accounted, counts) = try RecoveryPullTests.accountedAfterRestart(relay, total: 40) {
            RecoveryPullTests.received(back).count
        }
        #expect(accounted, "\(counts)")
        #expect(RecoveryPullTests.received(back).isSubset(of: Set((0..<20).map { "k\($0)@back.test" })))
        #expect(RecoveryPullTests.received(still).isEmpty)
    }
}
