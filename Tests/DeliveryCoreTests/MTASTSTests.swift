import DeliveryCore
import Foundation
import Testing

/// MTA-STS (RFC 8461): policy and TXT record parsing, MX pattern matching and cache decisions;
/// TLS-RPT (RFC 8460): aggregation and the report's JSON field names.
@Suite("MTA-STS and TLS reports")
struct MTASTSTests {
    /// RFC 8461 §3.2, the example policy (CRLF-separated).
    static let rfcPolicy = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n"

    @Test("RFC 8461 §3.2 example policy parses: mode, mx patterns in order, max_age, lines kept for reports")
    func parsesRFCExample() throws {
        let policy = try MTASTSPolicy.parse(Self.rfcPolicy).get()
        #expect(policy.mode == .enforce)
        #expect(policy.mx == ["mail.example.com", "*.example.net", "backupmx.example.com"])
        #expect(policy.maxAge == 604_800)
        #expect(policy.lines.first == "version: STSv1")
        #expect(policy.lines.count == 6)
    }

    @Test("LF line endings, extra spaces, unknown keys and repeated keys (first wins) are accepted")
    func lenientFormat() throws {
        let policy = try MTASTSPolicy.parse("version: STSv1\nmode:   testing  \nmx: MX.Example.ORG.\nfuture_key: x\nmode: enforce\nmax_age: 86400\n").get()
        #expect(policy.mode == .testing)
        #expect(policy.mx == ["mx.example.org"])
    }

    @Test("invalid policies are refused: wrong version, unknown mode, missing mx, max_age over a year or not a number")
    func refusesInvalid() {
        let cases = [
            "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 10\n",
            "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 10\n",
            "version: STSv1\nmode: enforce\nmax_age: 10\n",
            "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n",
            "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n",
            "version: STSv1\nmode: enforce\nmx: a.example\n",
            "version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 10\n",
            "<html>not a policy</html>",
        ]
        for text in cases {
            if case .success(let p) = MTASTSPolicy.parse(text) { Issue.record("accepted \(text): \(p)") }
        }
        // mode none needs no mx (RFC 8461 §3.2: mx only for enforce/testing)
        #expect((try? MTASTSPolicy.parse("version: STSv1\nmode: none\nmax_age: 86400\n").get())?.mode == MTASTSPolicy.Mode.none)
    }

    @Test("RFC 8461 §4.1 mx matching: exact names case-insensitively, '*.' matches exactly one left label")
    func mxMatching() throws {
        let policy = try MTASTSPolicy.parse(Self.rfcPolicy).get()
        #expect(policy.allows(mxHost: "mail.example.com"))
        #expect(policy.allows(mxHost: "MAIL.example.com."))
        #expect(policy.allows(mxHost: "mx1.example.net"))
        #expect(!policy.allows(mxHost: "example.net"))            // the wildcard needs a label
        #expect(!policy.allows(mxHost: "a.b.example.net"))        // only one label (RFC 8461 §4.1)
        #expect(!policy.allows(mxHost: "mail.example.com.evil.test"))
        #expect(!policy.allows(mxHost: "xmail.example.com"))
        #expect(MTASTSPolicy.matches(pattern: "*.example.net", host: "mx.EXAMPLE.net"))
    }

    @Test("RFC 8461 §3.1 TXT records: v=STSv1 first, id of 1-32 alphanumerics; several STSv1 records mean no policy")
    func txtRecords() {
        #expect(MTASTSRecord.parse("v=STSv1; id=20160831085700Z;") == MTASTSRecord(id: "20160831085700Z"))
        #expect(MTASTSRecord.parse("v=STSv1;id=abc") == MTASTSRecord(id: "abc"))
        #expect(MTASTSRecord.parse("id=abc; v=STSv1;") == nil)
        #expect(MTASTSRecord.parse("v=STSv1; id=has-dash;") == nil)
        #expect(MTASTSRecord.parse("v=STSv1; id=\(String(repeating: "a", count: 33));") == nil)
        #expect(MTASTSRecord.lookup(fromTXT: ["v=spf1 -all", "v=STSv1; id=1;"]) == .record(MTASTSRecord(id: "1")))
        #expect(MTASTSRecord.lookup(fromTXT: ["v=STSv1; id=1;", "v=STSv1; id=2;"]) == .none)
        #expect(MTASTSRecord.lookup(fromTXT: []) == .none)
    }

    @Test("cache (RFC 8461 §5.1): fetch without a policy; same id uses the cache; a new id refetches; expiry at min(max_age, cap)")
    func cacheDecisions() throws {
        let policy = try MTASTSPolicy.parse(Self.rfcPolicy).get() // max_age 604800
        var cache = MTASTSCache(maxAgeCap: 86_400)
        let one = MTASTSRecord.Lookup.record(MTASTSRecord(id: "one"))
        #expect(cache.decide(domain: "example.com", lookup: one, now: 1_000) == .fetch(id: "one", fallback: nil))
        let entry = cache.store(domain: "Example.COM", id: "one", policy: policy, now: 1_000)
        #expect(entry.expiresAt == 1_000 + 86_400) // capped
        #expect(cache.decide(domain: "example.com", lookup: one, now: 2_000) == .use(entry))
        let two = MTASTSRecord.Lookup.record(MTASTSRecord(id: "two"))
        #expect(cache.decide(domain: "example.com", lookup: two, now: 2_000) == .fetch(id: "two", fallback: entry))
        // A missing or failing TXT lookup keeps the unexpired policy (no downgrade by DNS).
        #expect(cache.decide(domain: "example.com", lookup: .none, now: 2_000) == .use(entry))
        #expect(cache.decide(domain: "example.com", lookup: .failure("SERVFAIL"), now: 2_000) == .use(entry))
        // Expired: the same id fetches again; no record means no policy.
        #expect(cache.decide(domain: "example.com", lookup: one, now: 1_000 + 86_400) == .fetch(id: "one", fallback: nil))
        #expect(cache.decide(domain: "example.com", lookup: .none, now: 1_000 + 86_400) == .noPolicy)
        // Uncapped: max_age applies.
        var wide = MTASTSCache()
        #expect(wide.store(domain: "example.com", id: "one", policy: policy, now: 0).expiresAt == 604_800)
    }

    @Test("cache capacity: expired entries and then the oldest are evicted")
    func cacheCapacity() throws {
        let policy = try MTASTSPolicy.parse(Self.rfcPolicy).get()
        var cache = MTASTSCache(capacity: 2)
        _ = cache.store(domain: "a.test", id: "1", policy: policy, now: 0)
        _ = cache.store(domain: "b.test", id: "1", policy: policy, now: 10)
        _ = cache.store(domain: "c.test", id: "1", policy: policy, now: 20)
        #expect(cache.entries.count == 2)
        #expect(cache.entries["a.test"] == nil)
        #expect(cache.entries["c.test"] != nil)
    }

    @Test("OpenSSL verification errors map to RFC 8460 §4.3 result types")
    func verifyErrors() {
        #expect(TLSReport.ResultType.forVerifyError(0) == nil)
        #expect(TLSReport.ResultType.forVerifyError(10) == .certificateExpired)
        #expect(TLSReport.ResultType.forVerifyError(62) == .certificateHostMismatch)
        #expect(TLSReport.ResultType.forVerifyError(18) == .certificateNotTrusted)
        #expect(TLSReport.ResultType.forVerifyError(20) == .certificateNotTrusted)
        #expect(TLSReport.ResultType.forVerifyError(7) == .validationFailure)
    }

    @Test("report aggregation: counts per policy, failures grouped by type and host, whole UTC days, other days and domains apart")
    func aggregation() throws {
        let policy = try MTASTSPolicy.parse(Self.rfcPolicy).get()
        let sts = TLSReportLog.policy(domain: "example.com", sts: policy)
        let day = 20_000.0 * 86_400 // 2024-10-04
        var log = TLSReportLog()
        for i in 0..<3 { log.recordSuccess(domain: "example.com", policy: sts, now: day + Double(i)) }
        let noTLS = TLSReportLog.Failure(.starttlsNotSupported, sendingIP: "192.0.2.1", mxHost: "mail.example.com", receivingIP: "198.51.100.7")
        log.recordFailure(domain: "example.com", policy: sts, failure: noTLS, now: day + 100)
        log.recordFailure(domain: "example.com", policy: sts, failure: noTLS, now: day + 200)
        log.recordFailure(domain: "Example.com", policy: sts,
                          failure: TLSReportLog.Failure(.certificateExpired, mxHost: "mx1.example.net", reasonCode: "X509_V_ERR 10"),
                          now: day + 300)
        log.recordSuccess(domain: "example.com", policy: TLSReportLog.policy(domain: "example.com", sts: nil), now: day + 400)
        log.recordSuccess(domain: "example.com", policy: sts, now: day + 86_400 + 5) // next day
        log.recordSuccess(domain: "other.test", policy: TLSReportLog.policy(domain: "other.test", sts: nil), now: day)

        let report = log.report(domain: "example.com", since: day + 3_600, until: day + 7_200, organization: "Relay Org",
                                contact: "postmaster@relay.test", reportID: "r1")
        #expect(report.dateRange == TLSReport.DateRange(startDatetime: "2024-10-04T00:00:00Z", endDatetime: "2024-10-04T23:59:59Z"))
        #expect(report.policies.map(\.policy.policyType) == ["no-policy-found", "sts"])
        let stsResult = try #require(report.policies.last)
        #expect(stsResult.summary == TLSReport.Summary(totalSuccessfulSessionCount: 3, totalFailureSessionCount: 3))
        #expect(stsResult.policy.mxHost == ["mail.example.com", "*.example.net", "backupmx.example.com"])
        #expect(stsResult.failureDetails.map(\.resultType) == [.starttlsNotSupported, .certificateExpired])
        #expect(stsResult.failureDetails.map(\.failedSessionCount) == [2, 1])
        #expect(stsResult.failureDetails.first?.receivingIp == "198.51.100.7")
        #expect(log.domains(since: day, until: day + 86_400) == ["example.com", "other.test"])
        let twoDays = log.report(domain: "example.com", since: day, until: day + 2 * 86_400, organization: "o", contact: "c", reportID: "r2")
        #expect(twoDays.policies.last?.summary.totalSuccessfulSessionCount == 4)
    }

    @Test("report JSON uses the RFC 8460 §4.4 field names and leaves absent optional fields out")
    func jsonShape() throws {
        let policy = try MTASTSPolicy.parse(Self.rfcPolicy).get()
        var log = TLSReportLog()
        log.recordFailure(domain: "example.com", policy: TLSReportLog.policy(domain: "example.com", sts: policy),
                          failure: TLSReportLog.Failure(.starttlsNotSupported, mxHost: "mail.example.com"), now: 0)
        let report = log.report(domain: "example.com", since: 0, until: 86_400, organization: "Org", contact: "c@relay.test", reportID: "id-1")
        let data = try JSONEncoder().encode(report)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["organization-name", "date-range", "contact-info", "report-id", "policies"])
        let range = try #require(object["date-range"] as? [String: String])
        #expect(range == ["start-datetime": "1970-01-01T00:00:00Z", "end-datetime": "1970-01-01T23:59:59Z"])
        let entry = try #require((object["policies"] as? [[String: Any]])?.first)
        let p = try #require(entry["policy"] as? [String: Any])
        #expect(p["policy-type"] as? String == "sts")
        #expect(p["policy-domain"] as? String == "example.com")
        #expect((p["policy-string"] as? [String])?.first == "version: STSv1")
        #expect(p["mx-host"] as? [String] == ["mail.example.com", "*.example.net", "backupmx.example.com"])
        let summary = try #require(entry["summary"] as? [String: Int])
        #expect(summary == ["total-successful-session-count": 0, "total-failure-session-count": 1])
        let detail = try #require((entry["failure-details"] as? [[String: Any]])?.first)
        #expect(Set(detail.keys) == ["result-type", "receiving-mx-hostname", "failed-session-count"])
        #expect(detail["result-type"] as? String == "starttls-not-supported")
    }
}
