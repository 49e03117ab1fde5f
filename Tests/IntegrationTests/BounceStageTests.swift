import Foundation
import Testing

/// Issue 12 through the binary: only a recipient-specific hard failure may suppress. smtp-sink refuses one
/// SMTP command (`-f COMMAND`) with the same "550 5.1.1 … User unknown" reply (`-B`); the relay bounces the
/// message each time, but only the refusal at RCPT TO names the recipient and suppresses it. A refusal of
/// MAIL FROM concerns the envelope sender (classified `policy`), and one after the message's end of data
/// speaks for every recipient of the transaction (class kept, no suppression) unless the transaction
/// accepted only one recipient: then it can only be about that one, which is suppressed. Addresses: relay
/// 127.95.0.1, sink 127.95.0.2; the end-of-data tests relay 127.102.0.1, sink 127.102.0.2.
@Suite("Bounce suppression by SMTP stage through the binary", .serialized)
struct BounceStageTests {
    static let relayHost = "127.95.0.1"
    static let sinkHost = "127.95.0.2"
    static let dataRelayHost = "127.102.0.1"
    static let dataSinkHost = "127.102.0.2"
    static let unknownUser = "550 5.1.1 <gone@sink.test>: Recipient address rejected: User unknown in local recipient table"

    /// Sends two messages to `recipient` through a relay whose route points at a sink refusing `command`
    /// with `unknownUser`; returns the bounced event of the first, the type of the second message's outcome
    /// ("suppressed" when the first put the address on the list, else "bounced"), and whether the address is
    /// on the tenant's suppression list then.
    func twoMessages(refusing command: String, recipient: String) throws
        -> (first: [String: Any]?, second: String, listed: Bool, log: String) {
        let outcome = try twoMessages(refusing: command, recipients: [recipient], relayHost: Self.relayHost, sinkHost: Self.sinkHost)
        return (outcome.first, outcome.second, outcome.listed[0], outcome.log)
    }

    /// `twoMessages(refusing:recipient:)` with each message sent to all of `recipients` in one transaction,
    /// relay and sink on the given loopback addresses; `listed` has one entry per recipient.
    func twoMessages(refusing command: String, recipients: [String], relayHost: String, sinkHost: String) throws
        -> (first: [String: Any]?, second: String, listed: [Bool], log: String) {
        let sink = try SinkProcess(flags: ["-f", command, "-B", Self.unknownUser], host: sinkHost)
        defer { sink.stop() }
        let listen = "\(relayHost):0"
        let relay = try RelayProcess(overlay: RelayProcess.merge(DeliveryTests.relayConfig(routes: [
            ["domain": "sink.test", "hosts": ["\(sinkHost):\(sink.port)"], "tls": "none"]]),
            ["listen": ["submission": [listen], "smtps": [listen], "relay": [listen], "admin": listen]]))
        defer { relay.cleanUp() }
        let port = String(relay.port("submission"))
        let out = try python(DeliveryTests.send, [relayHost, port, recipients.joined(separator: ",")])
        #expect(out.status == 0, "\(out.stderr)")
        let bounced = try DeliveryTests().waitForEvents(relay, type: "bounced") { $0.count >= recipients.count }
        let again = try python(DeliveryTests.send, [relayHost, port, recipients.joined(separator: ",")])
        #expect(again.status == 0, "\(again.stderr)")
        // Wait for the second message's outcome: a `suppressed` event or a second round of `bounced` ones.
        let deadline = Date().addingTimeInterval(20)
        var second = "none"
        while second == "none", Date() < deadline {
            if try !relay.events("type=suppressed&limit=10").isEmpty {
                second = "suppressed"
            } else if try relay.events("type=bounced&limit=10").count >= 2 * recipients.count {
                second = "bounced"
            } else {
                usleep(50_000)
            }
        }
        let list = try relay.adminJSON("/v1/suppressions?tenant=acme")
        let text = String(decoding: try JSONSerialization.data(withJSONObject: list), as: UTF8.self)
        return (bounced.first, second, recipients.map { text.contains($0) }, relay.log())
    }

    @Test("550 5.1.1 at RCPT TO: bad-mailbox, the address is suppressed and the next message to it is not sent")
    func rcptSuppresses() throws {
        let (first, second, listed, log) = try twoMessages(refusing: "RCPT", recipient: "gone@sink.test")
        #expect(first?["bounceClass"] as? String == "bad-mailbox", "\(log)")
        #expect(second == "suppressed")
        #expect(listed)
    }

    @Test("the same 550 5.1.1 at MAIL FROM: policy (the sender was refused), the recipient is not suppressed")
    func mailFromDoesNotSuppress() throws {
        let (first, second, listed, log) = try twoMessages(refusing: "MAIL", recipient: "kept@sink.test")
        #expect(first?["bounceClass"] as? String == "policy", "\(log)")
        #expect(first?["enhancedCode"] as? String == "5.1.1")
        #expect(second == "bounced", "a second message is tried again, not suppressed")
        #expect(!listed)
    }

    @Test("the same 550 5.1.1 after the end of data of a one-recipient transaction: bad-mailbox, it can only name that recipient, who is suppressed")
    func endOfDataOneRecipientSuppresses() throws {
        let (first, second, listed, log) = try twoMessages(refusing: ".", recipients: ["gone@sink.test"],
                                                           relayHost: Self.dataRelayHost, sinkHost: Self.dataSinkHost)
        #expect(first?["bounceClass"] as? String == "bad-mailbox", "\(log)")
        #expect(first?["enhancedCode"] as? String == "5.1.1")
        #expect(second == "suppressed", "the next message to the address is not sent")
        #expect(listed == [true])
    }

    @Test("the same 550 5.1.1 after the end of data with two accepted recipients: bad-mailbox kept, but it speaks for the transaction and suppresses nobody")
    func endOfDataTwoRecipientsDoNotSuppress() throws {
        let (first, second, listed, log) = try twoMessages(refusing: ".", recipients: ["kept@sink.test", "also@sink.test"],
                                                           relayHost: Self.dataRelayHost, sinkHost: Self.dataSinkHost)
        #expect(first?["bounceClass"] as? String == "bad-mailbox", "\(log)")
        #expect(second == "bounced", "both are tried again")
        #expect(listed == [false, false])
    }
}
