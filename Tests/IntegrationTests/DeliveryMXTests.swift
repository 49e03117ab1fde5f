import Foundation
import Testing

/// MX delivery with the MX and address records served by an independent DNS implementation
/// (dnspython), so a bug shared by Sendarix's DNS encoder and decoder cannot cancel itself out
/// (the MX test in `DeliveryPostfixTests` uses Sendarix's own DNS server).
@Suite("MX delivery via an independent DNS server", .serialized)
struct DeliveryMXTests {
    @Test("MX records from a dnspython server: the preferred MX (listed second on the wire) gets the message; the other is never contacted")
    func mxFromDnspython() throws {
        let sink = try SinkProcess()
        defer { sink.stop() }
        // dp.test MX 20 mx2 (a listener that refuses every recipient) and MX 10 mx (smtp-sink): wire
        // order is not preference order, so a misread preference delivers to the wrong host.
        let dns = try DnspythonServer(records: [
            "dp.test. MX": ["20 mx2.dp.test.", "10 mx.dp.test."],
            "mx.dp.test. A": ["127.0.0.1"],
            "mx2.dp.test. A": ["127.0.0.9"],
        ], rejectSMTP: "127.0.0.9:\(sink.port)")
        defer { dns.stop() }
        let relay = try RelayProcess(overlay: [
            "delivery": ["enabled": true, "mxPort": Int(sink.port)],
            "resolver": ["nameservers": ["127.0.0.1:\(dns.port)"]],
        ])
        defer { relay.cleanUp() }
        let out = try python(DeliveryTests.send, ["127.0.0.1", String(relay.port("submission")), "erin@dp.test"])
        #expect(out.status == 0, "\(out.stderr)")

        var outcomes: [[String: Any]] = []
        let deadline = Date().addingTimeInterval(60) // hang guard
        while Date() < deadline {
            outcomes = try relay.events("limit=100").filter { ($0["type"] as? String) != "accepted" }
            if outcomes.contains(where: { ["delivered", "bounced", "failed"].contains($0["type"] as? String) }) { break }
            usleep(100_000)
        }
        let queries = dns.queries
        #expect(outcomes.count == 1, "\(outcomes)\n\(queries)\n\(relay.log().suffix(3000))")
        let delivered = outcomes.first
        #expect(delivered?["type"] as? String == "delivered", "\(outcomes)")
        #expect(delivered?["recipient"] as? String == "erin@dp.test")
        #expect(delivered?["remoteHost"] as? String == "mx.dp.test[127.0.0.1]:\(sink.port)", "\(outcomes)")
        #expect(delivered?["smtpCode"] as? Int == 250 && delivered?["attempt"] as? Int == 1, "\(outcomes)")
        #expect(sink.messages.contains { $0.contains("hello sink") && $0.contains("erin@dp.test") }, "\(sink.messages)")
        // The lookups went to the dnspython server; the non-preferred MX was never contacted.
        #expect(queries.contains { $0.hasSuffix("MX dp.test.") }, "\(queries)")
        #expect(queries.contains { $0.hasSuffix(" A mx.dp.test.") }, "\(queries)")
        #expect(!queries.contains { $0.hasPrefix("smtp-connection") }, "\(queries)")
        #expect(!queries.contains { $0.hasPrefix("error") }, "\(queries) \(dns.output)")
    }
}
