import Testing
import DeliveryCore

/// Regression for a FuzzSMTPReply finding (input: Tests/FuzzCorpus/FuzzSMTPReply/regressions/
/// max-length-line-split-before-lf): a reply line of exactly `maxLineLength` bytes was accepted when its
/// CRLF arrived with it but refused as too long when the read ended between its CR and LF.
@Suite("SMTP reply line limit across reads")
struct SMTPReplyLineLimitSplitTests {
    static let line = "250 " + String(repeating: "x", count: 60) // 64 bytes

    @Test("a line of exactly the limit is accepted when the read ends between its CR and LF")
    func limitLineSplitBeforeLF() throws {
        var parser = SMTPReplyParser(maxLineLength: 64)
        parser.feed(Array((Self.line + "\r").utf8)[...])
        #expect(try parser.nextReply() == nil)
        parser.feed([10][...])
        #expect(try parser.nextReply()?.lines == [String(repeating: "x", count: 60)])
    }

    @Test("a line one byte over the limit is still refused before its line end arrives")
    func overLimitLineRefused() {
        var parser = SMTPReplyParser(maxLineLength: 64)
        parser.feed(Array((Self.line + "yy").utf8)[...])
        #expect(throws: DeliveryError.self) { try parser.nextReply() }
    }
}
