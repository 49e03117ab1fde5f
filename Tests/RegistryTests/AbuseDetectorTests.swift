import Testing
@testable import Registry

/// Compromised-credential detection with a mock clock: each signal fires on a sharp departure from
/// the learned profile, not during learning, and at most once per hour.
@Suite("Abuse detector")
struct AbuseDetectorTests {
    static let hour: Int64 = 3_600_000
    let alice = LimitSubject(tenant: "acme", username: "alice")
    var start: Int64 { 1_700_000_000_000 - 1_700_000_000_000 % Self.hour }

    func detector() -> AbuseDetector {
        var s = AbuseDetector.Settings()
        s.learningMillis = 3 * Self.hour
        s.minBurstMessages = 20
        s.minDistinctRecipients = 20
        s.minBounceSample = 10
        return AbuseDetector(settings: s)
    }

    /// Three hours of usual sending: 5 messages an hour to the same 2 recipients, logins from
    /// 192.0.2.0/24, 1 bounce in 10 outcomes.
    func learn(_ d: inout AbuseDetector) -> Int64 {
        var now = start
        for _ in 0..<3 {
            _ = d.login(alice, ip: "192.0.2.10", now: now)
            for i in 0..<5 { #expect(d.message(alice, recipients: ["a@x.test", "b@y.test"], now: now + Int64(i)).isEmpty) }
            for i in 0..<10 { #expect(d.outcome(alice, bounced: i == 0, now: now + 10).isEmpty) }
            now += Self.hour
        }
        return now
    }

    @Test("a burst far above the usual hourly volume is flagged once")
    func burst() {
        var d = detector()
        let now = learn(&d)
        var alerts: [AbuseDetector.Alert] = []
        for i in 0..<60 { alerts += d.message(alice, recipients: ["a@x.test"], now: now + Int64(i)) }
        #expect(alerts.map(\.signal) == [.burst])
        #expect(alerts.first?.detail == "burst: 51 messages this hour, usual 5.0/hour")
        // Normal volume in the next hour raises nothing.
        #expect(d.message(alice, recipients: ["a@x.test"], now: now + Self.hour).isEmpty)
    }

    @Test("nothing is flagged while the profile is still learning")
    func learning() {
        var d = detector()
        var alerts: [AbuseDetector.Alert] = []
        alerts += d.login(alice, ip: "192.0.2.10", now: start)
        alerts += d.login(alice, ip: "198.51.100.7", now: start + 1)
        for i in 0..<100 { alerts += d.message(alice, recipients: ["r\(i)@z.test"], now: start + Int64(i)) }
        #expect(alerts.isEmpty)
    }

    @Test("a login from a network never used is flagged; the same network again is not")
    func newNetwork() {
        var d = detector()
        let now = learn(&d)
        #expect(d.login(alice, ip: "192.0.2.99", now: now).isEmpty)
        let alerts = d.login(alice, ip: "203.0.113.5", now: now)
        #expect(alerts.map(\.signal) == [.newNetwork])
        #expect(alerts.first?.detail.hasPrefix("new-network: login from 203.0.113.0/24") == true)
        #expect(d.login(alice, ip: "203.0.113.6", now: now + 1).isEmpty)
        #expect(AbuseDetector.network(of: "2001:db8:1:2::5") == "2001:db8:1::/48")
    }

    @Test("many distinct recipients in an hour are flagged")
    func manyRecipients() {
        var d = detector()
        let now = learn(&d)
        var alerts: [AbuseDetector.Alert] = []
        for i in 0..<4 { alerts += d.message(alice, recipients: (0..<10).map { "u\(i)-\($0)@spray.test" }, now: now) }
        #expect(alerts.map(\.signal) == [.manyRecipients])
    }

    @Test("a bounce rate spike is flagged over enough outcomes")
    func bounceSpike() {
        var d = detector()
        let now = learn(&d)
        var alerts: [AbuseDetector.Alert] = []
        for i in 0..<9 { alerts += d.outcome(alice, bounced: i % 2 == 0, now: now) }
        #expect(alerts.isEmpty) // below the sample size
        for _ in 0..<3 { alerts += d.outcome(alice, bounced: true, now: now) }
        #expect(alerts.map(\.signal) == [.bounceSpike])
    }
}
