import Testing
import HTTPCore

/// Regression for a FuzzHTTP finding (input: Tests/FuzzCorpus/FuzzHTTP/regressions/
/// response-head-over-limit-one-read): the response parser enforced `maxHeaderBytes` only while the
/// head was incomplete, so an oversized head that arrived in one read was accepted.
@Suite("HTTP response header section limit")
struct HTTPResponseHeadLimitTests {
    static let oversized = Array(("HTTP/1.1 200 OK\r\nX-Filler: " + String(repeating: "a", count: 300)
                                  + "\r\nContent-Length: 2\r\n\r\nok").utf8)

    @Test("a response head over the limit is refused even when it arrives complete in one read")
    func oversizedHeadInOneRead() {
        var parser = HTTPResponseParser(maxHeaderBytes: 256)
        parser.feed(Self.oversized)
        #expect(parser.next() == .error(HTTPParseError(.badResponse, "response header section too large")))
    }

    @Test("the same head fed byte by byte gets the same refusal")
    func oversizedHeadByteByByte() {
        var parser = HTTPResponseParser(maxHeaderBytes: 256)
        var event = HTTPResponseParser.Event.needMore
        for byte in Self.oversized where event == .needMore {
            parser.feed([byte])
            event = parser.next()
        }
        #expect(event == .error(HTTPParseError(.badResponse, "response header section too large")))
    }

    @Test("a head just within the limit in one read is still accepted")
    func headWithinLimit() {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
        var parser = HTTPResponseParser(maxHeaderBytes: head.utf8.count)
        parser.feed(Array((head + "ok").utf8))
        guard case .response(let response) = parser.next() else {
            Issue.record("expected a response")
            return
        }
        #expect(response.status == 200 && response.body == Array("ok".utf8))
    }

    /// Second finding (input: regressions/trailer-line-over-limit-one-read): a chunked body's trailer line
    /// over the limit was refused only when it arrived without its line end.
    @Test("a trailer line over the limit is refused whether it arrives whole or byte by byte")
    func oversizedTrailerLine() {
        let bytes = Array(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: "
                           + String(repeating: "t", count: 300) + "\r\n\r\n").utf8)
        var whole = HTTPResponseParser(maxHeaderBytes: 256)
        whole.feed(bytes)
        #expect(whole.next() == .error(HTTPParseError(.badResponse, "trailer section too large")))
        var split = HTTPResponseParser(maxHeaderBytes: 256)
        var event = HTTPResponseParser.Event.needMore
        for byte in bytes where event == .needMore {
            split.feed([byte])
            event = split.next()
        }
        #expect(event == .error(HTTPParseError(.badResponse, "trailer section too large")))
    }
}
