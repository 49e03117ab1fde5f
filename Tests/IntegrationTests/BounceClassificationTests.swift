import Foundation
import Testing

/// Issue 12 through the binary: smtp-sink answers RCPT with the provider replies quoted in the
/// issue; the events carry the class of the receiver's own reply, and an IP block does not
/// suppress the recipient while an unknown user does.
@Suite("Bounce classification through the binary", .serialized)
struct BounceClassificationTests {
    /// Submits one message to `recipient` through a relay whose route points at a sink answering
    /// RCPT with `reply` (smtp-sink sends it verbatim: `-f`/`-B` for 5xx, `-r`/`-b` for 4xx), and
    /// returns the first event of `type` with the relay and sink (stopped by the caller).
    func outcome(reply: String, recipient: String, type: String) throws -> (event: [String: Any]?, relay: RelayProcess, sink: SinkProcess) {
        let sink = try SinkProcess(flags: reply.hasPrefix("5") ? ["-f", "RCPT", "-B", reply] : ["-r", "RCPT", "-b", reply])
        let relay = try RelayProcess(overlay: DeliveryTests.relayConfig(routes: [
            ["domain": "sink.test", "hosts": ["127.0.0.1:\(sink.port)"], "tls": "none"]]))
        let out = try python(DeliveryTests.send, ["127.0.0.1", String(relay.port("submission")), recipient])
        #expect(out.status == 0, "\(out.stderr)")
        let events = try DeliveryTests().waitForEvents(relay, type: type) { !$0.isEmpty }
        return (events.first, relay, sink)
    }

    func suppressed(_ relay: RelayProcess, _ address: String) throws -> Bool {
        let list = try relay.adminJSON("/v1/suppressions?tenant=acme")
        return String(decoding: try JSONSerialization.data(withJSONObject: list), as: UTF8.self).contains(address)
    }

    @Test("Yahoo's 553 5.7.2 [TSS09] IP block bounces as reputation-block, suppresses nobody and pauses the source for the provider")
    func yahooIPBlock() throws {
        let (event, relay, sink) = try outcome(
            reply: "553 5.7.2 [TSS09] All messages from 127.0.0.1 will be permanently deferred; Retrying will NOT succeed",
            recipient: "blocked@sink.test", type: "bounced")
        defer { relay.cleanUp(); sink.stop() }
        #expect(event?["bounceClass"] as? String == "reputation-block", "\(relay.log())")
        #expect(event?["enhancedCode"] as? String == "5.7.2")
        // A second message to the same address is queued, not suppressed: the permanent IP block
        // has paused this source for the provider, so it is deferred locally (a suppressed address
        // would get a `suppressed` event instead).
        let again = try python(DeliveryTests.send, ["127.0.0.1", String(relay.port("submission")), "blocked@sink.test"])
        #expect(again.status == 0, "\(again.stderr)")
        let deferred = try DeliveryTests().waitForEvents(relay, type: "deferred") { !$0.isEmpty }
        #expect((deferred.first?["response"] as? String)?.contains("paused") == true, "\(deferred)")
        #expect(try relay.events("type=suppressed&limit=10").isEmpty)
        #expect(try !suppressed(relay, "blocked@sink.test"))
    }

    @Test("Gmail's 421 4.7.28 at RCPT is a rate-limited deferral; the response is the receiver's reply")
    func gmailRateLimit() throws {
        let (event, relay, sink) = try outcome(
            reply: "421 4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address. - gsmtp",
            recipient: "slow@sink.test", type: "deferred")
        defer { relay.cleanUp(); sink.stop() }
        #expect(event?["bounceClass"] as? String == "rate-limited", "\(relay.log())")
        #expect((event?["response"] as? String)?.hasPrefix("421 4.7.28 Our system") == true, "\(event ?? [:])")
    }

    @Test("an unknown user (550 5.1.1) bounces as bad-mailbox and is suppressed")
    func unknownUserSuppressed() throws {
        let (event, relay, sink) = try outcome(reply: "550 5.1.1 <gone@sink.test>: Recipient address rejected: User unknown",
                                               recipient: "gone@sink.test", type: "bounced")
        defer { relay.cleanUp(); sink.stop() }
        #expect(event?["bounceClass"] as? String == "bad-mailbox", "\(relay.log())")
        let deadline = Date().addingTimeInterval(20)
        var found = false
        while !found, Date() < deadline {
            found = try suppressed(relay, "gone@sink.test")
            if !found { usleep(50_000) }
        }
        #expect(found)
    }
}
