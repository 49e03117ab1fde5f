import Testing
@testable import SMTPCore

@Suite("CHUNKING and BINARYMIME (RFC 3030)")
struct BDATTests {
    static let start = "EHLO c\r\nMAIL FROM:<a@remote.test> BODY=BINARYMIME\r\nRCPT TO:<b@local.test>\r\n"

    @Test("chunks are taken byte-exact, may hold CRLF.CRLF, NUL and bare LF, and LAST completes the message")
    func binaryChunks() throws {
        var harness = Harness(relayConfig)
        harness.input(Self.start)
        let first: [UInt8] = Array("Subject: b\r\n\r\n".utf8) + [0x00, 0xFF, 0x0A, 0x2E, 0x0D, 0x0A]
        let second: [UInt8] = Array("\r\n.\r\nQUIT\r\n".utf8)
        let sent = harness.input(Array("BDAT \(first.count)\r\n".utf8) + first + Array("BDAT \(second.count) LAST\r\n".utf8) + second)
        #expect(sent == "250 2.0.0 \(first.count) octets received\r\n")
        #expect(!harness.closed, "QUIT inside the chunk is data")
        let envelope = try #require(harness.enqueued.first).envelope
        #expect(envelope.bodyType == .binaryMIME)
        #expect(harness.enqueued[0].message.suffix(first.count + second.count) == (first + second)[...])
        #expect(harness.completeEnqueue(.queued("Q1")) == "250 2.0.0 OK: queued as Q1\r\n")
    }

    @Test("a chunk split over several packets is reassembled, with the next command in the last packet")
    func splitChunk() {
        var harness = Harness(relayConfig)
        harness.input(Self.start + "BDAT 10 LAST\r\n0123")
        #expect(harness.session.timeout == 180)
        harness.input("456")
        #expect(harness.enqueued.isEmpty)
        harness.input("789NOOP\r\n")
        #expect(harness.enqueued.count == 1)
        #expect(harness.message().hasSuffix("0123456789"))
        #expect(harness.completeEnqueue(.queued("Q1")) == "250 2.0.0 OK: queued as Q1\r\n250 2.0.0 OK\r\n")
    }

    @Test("BDAT 0 LAST is valid and ends the message")
    func zeroLast() {
        var harness = Harness(relayConfig)
        harness.input(Self.start + "BDAT 5\r\nhello")
        harness.input("BDAT 0 LAST\r\n")
        #expect(harness.enqueued.count == 1)
        #expect(harness.message().hasSuffix("\r\nhello"))
    }

    @Test("BDAT without a transaction consumes the chunk and replies 503; the chunk is never read as commands")
    func withoutTransaction() {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\n")
        let sent = harness.input("BDAT 6\r\nQUIT\r\nNOOP\r\n")
        #expect(sent == "503 5.5.1 Error: need MAIL command\r\n250 2.0.0 OK\r\n")
        #expect(!harness.closed)
    }

    @Test("BDAT with no accepted recipients is consumed and refused with 554")
    func noRecipients() {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\n")
        #expect(harness.input("BDAT 3 LAST\r\nabc") == "554 5.5.1 Error: no valid recipients\r\n")
        #expect(harness.enqueued.isEmpty)
    }

    @Test("chunks exceeding the size limit are consumed, refused with 552 5.3.4 and abort the transaction")
    func tooLarge() {
        var harness = Harness(.init(hostname: "mx.test", portKind: .relay, maxMessageSize: 8, localDomains: ["local.test"]))
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\n")
        #expect(harness.input("BDAT 5\r\n12345") == "250 2.0.0 5 octets received\r\n")
        #expect(harness.input("BDAT 5 LAST\r\n67890") == "552 5.3.4 Message size exceeds fixed maximum message size\r\n")
        #expect(harness.input("RCPT TO:<b@local.test>\r\n") == "503 5.5.1 Error: need MAIL command\r\n")
        #expect(harness.enqueued.isEmpty)
    }

    @Test("BINARYMIME forbids DATA, and DATA after BDAT is refused")
    func dataRestrictions() {
        var binary = Harness(relayConfig)
        binary.input(Self.start)
        #expect(binary.input("DATA\r\n") == "503 5.5.1 Error: BINARYMIME requires BDAT\r\n")
        var mixed = Harness(relayConfig)
        mixed.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nBDAT 1\r\nx")
        #expect(mixed.input("DATA\r\n") == "503 5.5.1 Error: DATA not permitted after BDAT\r\n")
    }

    @Test("malformed BDAT arguments get 501 5.5.4", arguments: ["BDAT", "BDAT x", "BDAT 1 FIRST", "BDAT -1", "BDAT 1 LAST more",
                                                                 "BDAT 99999999999999999999"])
    func syntax(line: String) {
        var harness = Harness(relayConfig)
        harness.input(Self.start)
        #expect(harness.input(line + "\r\n") == "501 5.5.4 Syntax: BDAT size [LAST]\r\n")
    }

    @Test("non-binary BDAT content with bare CR or LF is rejected with 550 5.6.0 at LAST, over any chunking",
          arguments: ["a\nb\r\n", "a\rb\r\n", "ab\r", "x\r\n.\n"])
    func bareLineEndingsInChunks(content: String) {
        let bytes = Array(content.utf8)
        for cut in 0...bytes.count {
            var harness = Harness(relayConfig)
            harness.input("EHLO c\r\nMAIL FROM:<a@r.test> BODY=8BITMIME\r\nRCPT TO:<b@local.test>\r\n")
            harness.input(Array("BDAT \(cut)\r\n".utf8) + bytes[..<cut])
            let sent = harness.input(Array("BDAT \(bytes.count - cut) LAST\r\n".utf8) + bytes[cut...])
            #expect(sent.hasSuffix("550 5.6.0 Message contains bare CR or LF characters; lines must end in CRLF\r\n"), "cut \(cut)")
            #expect(harness.enqueued.isEmpty, "cut \(cut)")
        }
    }

    @Test("non-binary BDAT content with over-long lines is rejected; binary content is not checked")
    func lineLengthInChunks() {
        let long = String(repeating: "q", count: 999) + "\r\n"
        var text = Harness(relayConfig)
        text.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\n")
        #expect(text.input("BDAT \(long.utf8.count) LAST\r\n" + long)
            == "550 5.6.0 Message contains a line longer than 998 octets\r\n")
        var binary = Harness(relayConfig)
        binary.input(Self.start)
        binary.input("BDAT \(long.utf8.count + 1) LAST\r\n" + long + "\n")
        #expect(binary.enqueued.count == 1)
    }

    @Test("well-formed non-binary BDAT content split inside CRLF is accepted")
    func crlfAcrossChunks() {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nBDAT 2\r\na\r")
        harness.input("BDAT 3 LAST\r\n\nbc")
        #expect(harness.enqueued.count == 1)
        #expect(harness.message().hasSuffix("\r\na\r\nbc"))
    }
}
