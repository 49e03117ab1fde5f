import DeliveryCore
import DeliveryEngine
import Foundation
import NetworkIO
import RelayConfig
import SpoolStore
import Testing

/// Outbound MTA-STS (RFC 8461) end to end: the engine looks up `_mta-sts.<domain>` through its
/// resolver (a scripted DNS server), fetches the policy from a python HTTPS server with a test CA,
/// and delivers to fake receivers on 127.0.0.1/127.0.0.2; TLS outcomes feed RFC 8460 reports.
@Suite("Delivery MTA-STS", .serialized)
struct DeliveryMTASTSTests {
    static func policy(_ mode: String, mx: [String]) -> String {
        "version: STSv1\r\nmode: \(mode)\r\n" + mx.map { "mx: \($0)\r\n" }.joined() + "max_age: 86400\r\n"
    }

    /// A harness using `fixture`'s DNS, CA and HTTPS port, with MX delivery to `mxPort`.
    static func harness(_ fixture: MTASTSFixture, mxPort: UInt16) throws -> EngineHarness {
        var options = EngineHarness.testOptions()
        options.caFile = fixture.caFile
        options.mxPort = mxPort
        options.mtaSTSPort = fixture.httpsPort
        var config = EngineHarness.config(nameservers: [fixture.dns.address])
        config.delivery.mtaSts.fetchTimeoutSeconds = 5
        config.delivery.mtaSts.reportOrganization = "Sendarix Test"
        return try EngineHarness(config: config, options: options)
    }

    static func report(_ h: EngineHarness, _ domain: String) throws -> TLSReport {
        let now = Date().timeIntervalSince1970
        return try #require(h.engine.tlsReport(domain: domain, since: now - 3_600, until: now + 3_600))
    }

    @Test("enforce with a matching MX and a valid certificate: delivered over verified TLS, one successful session reported")
    func enforceDelivers() throws {
        let fixture = try MTASTSFixture(names: ["mx1.enforce.test", "mta-sts.enforce.test"])
        defer { fixture.stop() }
        let server = try FakeSMTPServer(behavior: .init(tls: try TLSContext(serverCertificate: fixture.certificateFile,
                                                                            privateKey: fixture.keyFile)))
        defer { server.stop() }
        fixture.setMX("enforce.test", [(10, "mx1.enforce.test")])
        try fixture.publish("enforce.test", id: "a1", policy: Self.policy("enforce", mx: ["*.enforce.test"]))
        let h = try Self.harness(fixture, mxPort: server.port)
        defer { h.shutdown() }
        h.enqueue("e1", to: ["a@enforce.test"])
        let event = h.waitForOutcome("e1").first
        #expect(event?.type == .delivered, "\(String(describing: event)) \(h.logText)")
        #expect(server.messages.first?.overTLS == true)
        #expect(fixture.fetches("enforce.test") == 1)
        #expect(h.engine.mtaSTSPolicy(for: "enforce.test")?.policy.mode == .enforce)
        let report = try Self.report(h, "enforce.test")
        let sts = try #require(report.policies.first { $0.policy.policyType == "sts" })
        #expect(sts.summary == TLSReport.Summary(totalSuccessfulSessionCount: 1, totalFailureSessionCount: 0))
        #expect(sts.policy.mxHost == ["*.enforce.test"])
        #expect(report.organizationName == "Sendarix Test")

        // The JSON the admin API serves: RFC 8460 §4.4 field names.
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any])
        #expect(Set(object.keys) == ["organization-name", "date-range", "contact-info", "report-id", "policies"])
        #expect((object["date-range"] as? [String: String])?.keys.sorted() == ["end-datetime", "start-datetime"])
        let entry = try #require((object["policies"] as? [[String: Any]])?.first)
        #expect(Set(entry.keys) == ["policy", "summary", "failure-details"])
        let policy = try #require(entry["policy"] as? [String: Any])
        #expect(policy["policy-type"] as? String == "sts")
        #expect(policy["policy-domain"] as? String == "enforce.test")
        #expect((policy["policy-string"] as? [String])?.contains("mode: enforce") == true)
        #expect((entry["summary"] as? [String: Int])?["total-successful-session-count"] == 1)
    }

    @Test("enforce towards a receiver without STARTTLS: deferred with 451 4.7.5 naming the policy, nothing sent, failure reported")
    func enforceWithoutSTARTTLSDefers() throws {
        let fixture = try MTASTSFixture(names: ["mx1.notls.test", "mta-sts.notls.test"])
        defer { fixture.stop() }
        let server = try FakeSMTPServer()
        defer { server.stop() }
        fixture.setMX("notls.test", [(10, "mx1.notls.test")])
        try fixture.publish("notls.test", id: "n1", policy: Self.policy("enforce", mx: ["mx1.notls.test"]))
        let h = try Self.harness(fixture, mxPort: server.port)
        defer { h.shutdown() }
        h.enqueue("n1", to: ["a@notls.test"])
        let event = h.waitForOutcome("n1").first
        #expect(event?.type == .deferred, "\(String(describing: event))")
        #expect(event?.smtpCode == 451)
        #expect(event?.enhancedCode == "4.7.5")
        #expect(event?.response?.contains("MTA-STS policy of notls.test requires") == true, "\(String(describing: event?.response))")
        #expect(!server.commands.contains { $0.hasPrefix("MAIL") })
        let sts = try #require(try Self.report(h, "notls.test").policies.first { $0.policy.policyType == "sts" })
        #expect(sts.summary.totalFailureSessionCount == 1)
        #expect(sts.failureDetails.first?.resultType == .starttlsNotSupported)
        #expect(sts.failureDetails.first?.receivingMxHostname == "mx1.notls.test")
    }

    @Test("enforce skips MX hosts outside the policy's mx patterns; with none left the domain defers with 4.7.5")
    func enforceSkipsUnlistedMX() throws {
        let fixture = try MTASTSFixture(names: ["mx1.listed.test", "evil.other.test", "mta-sts.listed.test", "mta-sts.unlisted.test"])
        defer { fixture.stop() }
        let tls = try TLSContext(serverCertificate: fixture.certificateFile, privateKey: fixture.keyFile)
        let good = try FakeSMTPServer(behavior: .init(tls: tls))
        defer { good.stop() }
        let evil = try FakeSMTPServer(behavior: .init(tls: tls), ip: "127.0.0.2", port: good.port)
        defer { evil.stop() }
        fixture.setAddress("evil.other.test", "127.0.0.2")
        // The unlisted host has the better preference: without the policy it would be tried first.
        fixture.setMX("listed.test", [(5, "evil.other.test"), (10, "mx1.listed.test")])
        fixture.setMX("unlisted.test", [(5, "evil.other.test")])
        try fixture.publish("listed.test", id: "l1", policy: Self.policy("enforce", mx: ["mx1.listed.test"]))
        try fixture.publish("unlisted.test", id: "u1", policy: Self.policy("enforce", mx: ["mx1.unlisted.test"]))
        let h = try Self.harness(fixture, mxPort: good.port)
        defer { h.shutdown() }
        h.enqueue("m1", to: ["a@listed.test"])
        h.enqueue("m2", to: ["a@unlisted.test"])
        let delivered = h.waitForOutcome("m1").first
        #expect(delivered?.type == .delivered, "\(String(describing: delivered)) \(h.logText)")
        #expect(delivered?.remoteHost?.hasPrefix("mx1.listed.test[127.0.0.1]") == true, "\(String(describing: delivered?.remoteHost))")
        let deferred = h.waitForOutcome("m2").first
        #expect(deferred?.type == .deferred)
        #expect(deferred?.enhancedCode == "4.7.5")
        #expect(deferred?.response?.contains("requires an MX host matching mx1.unlisted.test") == true, "\(String(describing: deferred?.response))")
        #expect(evil.connectionCount == 0)
        let sts = try #require(try Self.report(h, "unlisted.test").policies.first)
        #expect(sts.failureDetails.map(\.resultType) == [.validationFailure])
    }

    @Test("testing mode delivers despite failures (no STARTTLS; untrusted certificate) and reports each")
    func testingModeReports() throws {
        let fixture = try MTASTSFixture(names: ["mta-sts.plain.test", "mta-sts.selfsigned.test"])
        defer { fixture.stop() }
        let plain = try FakeSMTPServer()
        defer { plain.stop() }
        let (selfSigned, _) = try DeliveryTLSTests.certificate("mx1.selfsigned.test")
        let untrusted = try FakeSMTPServer(behavior: .init(tls: selfSigned), ip: "127.0.0.2", port: plain.port)
        defer { untrusted.stop() }
        fixture.setAddress("mx1.selfsigned.test", "127.0.0.2")
        fixture.setMX("plain.test", [(10, "mx1.plain.test")])
        fixture.setMX("selfsigned.test", [(10, "mx1.selfsigned.test")])
        try fixture.publish("plain.test", id: "p1", policy: Self.policy("testing", mx: ["mx1.plain.test"]))
        try fixture.publish("selfsigned.test", id: "s1", policy: Self.policy("testing", mx: ["mx1.selfsigned.test"]))
        let h = try Self.harness(fixture, mxPort: plain.port)
        defer { h.shutdown() }
        h.enqueue("t1", to: ["a@plain.test"])
        h.enqueue("t2", to: ["a@selfsigned.test"])
        #expect(h.waitForOutcome("t1").first?.type == .delivered, "\(h.logText)")
        #expect(h.waitForOutcome("t2").first?.type == .delivered, "\(h.logText)")
        #expect(untrusted.messages.first?.overTLS == true)
        let plainReport = try #require(try Self.report(h, "plain.test").policies.first { $0.policy.policyType == "sts" })
        #expect(plainReport.failureDetails.map(\.resultType) == [.starttlsNotSupported])
        #expect((plainReport.policy.policyString ?? []).contains("mode: testing"))
        let selfSignedReport = try #require(try Self.report(h, "selfsigned.test").policies.first { $0.policy.policyType == "sts" })
        #expect(selfSignedReport.summary.totalFailureSessionCount == 1)
        #expect(selfSignedReport.failureDetails.map(\.resultType) == [.certificateNotTrusted])
    }

    @Test("the policy is fetched once per TXT id: the same id uses the cache, a new id fetches the new policy")
    func idChangeRefetches() throws {
        let fixture = try MTASTSFixture(names: ["mx1.idchange.test", "mta-sts.idchange.test"])
        defer { fixture.stop() }
        let server = try FakeSMTPServer(behavior: .init(tls: try TLSContext(serverCertificate: fixture.certificateFile,
                                                                            privateKey: fixture.keyFile)))
        defer { server.stop() }
        fixture.setMX("idchange.test", [(10, "mx1.idchange.test")])
        try fixture.publish("idchange.test", id: "v1", policy: Self.policy("testing", mx: ["mx1.idchange.test"]))
        let h = try Self.harness(fixture, mxPort: server.port)
        defer { h.shutdown() }
        h.enqueue("i1", to: ["a@idchange.test"])
        #expect(h.waitForOutcome("i1").first?.type == .delivered)
        h.enqueue("i2", to: ["b@idchange.test"])
        #expect(h.waitForOutcome("i2").first?.type == .delivered)
        #expect(fixture.fetches("idchange.test") == 1)
        #expect(h.engine.mtaSTSPolicy(for: "idchange.test")?.policy.mode == .testing)
        try fixture.publish("idchange.test", id: "v2", policy: Self.policy("enforce", mx: ["mx1.idchange.test"]))
        h.enqueue("i3", to: ["c@idchange.test"])
        #expect(h.waitForOutcome("i3").first?.type == .delivered)
        #expect(fixture.fetches("idchange.test") == 2)
        let cached = h.engine.mtaSTSPolicy(for: "idchange.test")
        #expect(cached?.id == "v2")
        #expect(cached?.policy.mode == .enforce)
    }
}
