import Testing
@testable import HTTPCore

/// Feeds `text` and collects events until `.needMore` or an error.
func parseAll(_ parser: inout HTTPRequestParser, _ text: String) -> [HTTPRequestParser.Event] {
    parser.feed(Array(text.utf8))
    var events: [HTTPRequestParser.Event] = []
    while true {
        let e = parser.next()
        if e == .needMore { break }
        events.append(e)
        if case .error = e { break }
    }
    return events
}

func requests(_ events: [HTTPRequestParser.Event]) -> [HTTPRequest] {
    events.compactMap { if case .request(let r) = $0 { return r } else { return nil } }
}

func parseError(_ text: String, maxHeader: Int = 16 * 1024, maxBody: Int = 1024 * 1024) -> HTTPParseError? {
    var p = HTTPRequestParser(maxHeaderBytes: maxHeader, maxBodyBytes: maxBody)
    for e in parseAll(&p, text) { if case .error(let err) = e { return err } }
    return nil
}

@Suite("HTTP request parser")
struct HTTPRequestParserTests {
    @Test("a simple GET with query parses method, path, query and headers")
    func simpleGet() {
        var p = HTTPRequestParser()
        let rs = requests(parseAll(&p, "GET /v1/events?recipient=a%40b.test&limit=5 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n"))
        #expect(rs.count == 1)
        let r = rs[0]
        #expect(r.method == "GET")
        #expect(r.path == "/v1/events")
        #expect(r.query("recipient") == "a@b.test")
        #expect(r.query("limit") == "5")
        #expect(r.headers["authorization"] == "Bearer t")
        #expect(r.keepAlive)
        #expect(r.body.isEmpty)
    }

    @Test("a request delivered one byte at a time parses exactly once at the last byte")
    func byteByByte() {
        let text = "POST /v1/users HTTP/1.1\r\nContent-Length: 11\r\n\r\n{\"a\":\"bcd\"}"
        var p = HTTPRequestParser()
        var got: [HTTPRequest] = []
        for (i, b) in text.utf8.enumerated() {
            p.feed([b])
            let e = p.next()
            if case .request(let r) = e {
                #expect(i == text.utf8.count - 1)
                got.append(r)
            } else {
                #expect(e == .needMore)
            }
        }
        #expect(got.count == 1)
        #expect(got.first?.body == Array("{\"a\":\"bcd\"}".utf8))
        #expect(p.bufferedByteCount == 0)
    }

    @Test("three pipelined requests in one read come out in order with their bodies")
    func pipelined() {
        var p = HTTPRequestParser()
        let text = "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyzGET /c HTTP/1.1\r\nConnection: close\r\n\r\nGET /d"
        let rs = requests(parseAll(&p, text))
        #expect(rs.map(\.target) == ["/a", "/b", "/c"])
        #expect(rs[1].body == Array("xyz".utf8))
        #expect(rs[2].keepAlive == false)
        #expect(p.bufferedByteCount == 6)
        let rest = requests(parseAll(&p, " HTTP/1.1\r\n\r\n"))
        #expect(rest.map(\.target) == ["/d"])
    }

    @Test("a body split across reads waits for its last byte")
    func splitBody() {
        var p = HTTPRequestParser()
        #expect(parseAll(&p, "PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n01234").isEmpty)
        let rs = requests(parseAll(&p, "56789"))
        #expect(rs.first?.body == Array("0123456789".utf8))
    }

    @Test("HTTP/1.0 closes by default and keeps alive only on request")
    func http10() {
        var p = HTTPRequestParser()
        let rs = requests(parseAll(&p, "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"))
        #expect(rs.map(\.keepAlive) == [false, true])
        #expect(rs[0].minorVersion == 0)
    }

    @Test("leading empty lines before a request line are ignored")
    func leadingCRLF() {
        var p = HTTPRequestParser()
        #expect(requests(parseAll(&p, "\r\n\r\nGET /h HTTP/1.1\r\n\r\n")).map(\.target) == ["/h"])
    }

    @Test("malformed request lines and headers are 400")
    func malformed() {
        let cases = [
            "GET /a\r\n\r\n",
            "GET  /a HTTP/1.1\r\n\r\n",
            "G(T /a HTTP/1.1\r\n\r\n",
            "GET a HTTP/1.1\r\n\r\n",
            "GET /a HTTP/1.1\r\nNo colon here\r\n\r\n",
            "GET /a HTTP/1.1\r\nBad Name: x\r\n\r\n",
            "GET /a HTTP/1.1\r\nName : x\r\n\r\n",
            "GET /a HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
            "GET /a HTTP/1.1\nX: y\r\n\r\n",
            "GET /a HTTP/1.1\r\nX: a\u{01}b\r\n\r\n",
            "POST /a HTTP/1.1\r\nContent-Length: 3x\r\n\r\n",
            "POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            "POST /a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET /a HTTP/x.y\r\n\r\n",
        ]
        for c in cases {
            let e = parseError(c)
            #expect(e?.code == .badRequest, "input: \(c.debugDescription)")
            #expect(e?.status == 400)
        }
    }

    @Test("limits and unsupported features map to 431, 413, 411, 501 and 505")
    func limitStatuses() {
        let bigHeader = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 200) + "\r\n\r\n"
        #expect(parseError(bigHeader, maxHeader: 100)?.status == 431)
        // Over the limit without a terminator yet must fail too, not buffer forever.
        #expect(parseError("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 200), maxHeader: 100)?.status == 431)
        #expect(parseError("POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n")?.status == 413)
        #expect(parseError("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")?.status == 411)
        #expect(parseError("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n")?.status == 501)
        #expect(parseError("GET / HTTP/2.0\r\n\r\n")?.status == 505)
    }

    @Test("after an error the parser keeps failing even when valid bytes follow")
    func stickyError() {
        var p = HTTPRequestParser()
        _ = parseAll(&p, "BAD\r\n\r\n")
        p.feed(Array("GET / HTTP/1.1\r\n\r\n".utf8))
        guard case .error = p.next() else {
            Issue.record("expected sticky error")
            return
        }
    }

    @Test("a serialized client request parses back to the same request")
    func roundTrip() {
        let req = HTTPRequest(method: "POST", target: "/v1/domains?x=1", headers: ["Host": "h", "Content-Type": "application/json"],
                              body: Array("{}".utf8))
        var p = HTTPRequestParser()
        p.feed(req.serialize())
        guard case .request(let back) = p.next() else {
            Issue.record("no request")
            return
        }
        #expect(back.method == "POST")
        #expect(back.target == "/v1/domains?x=1")
        #expect(back.body == Array("{}".utf8))
        #expect(back.headers["content-length"] == "2")
    }

    @Test("absolute-form targets yield the path after the authority")
    func absoluteForm() {
        var p = HTTPRequestParser()
        let rs = requests(parseAll(&p, "GET http://admin.local:8025/health?x=1 HTTP/1.1\r\n\r\n"))
        #expect(rs.first?.path == "/health")
        #expect(rs.first?.query("x") == "1")
    }
}

@Suite("HTTP request parser: Expect and split points")
struct HTTPRequestParserMoreTests {
    @Test("Expect: 100-continue is signalled once while the body is outstanding")
    func expectContinue() {
        var p = HTTPRequestParser()
        p.feed(Array("POST /v1/x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n".utf8))
        #expect(p.next() == .needMore)
        let first = p.takeExpectContinue(), second = p.takeExpectContinue()
        #expect(first)
        #expect(!second)
        p.feed(Array("abcd".utf8))
        guard case .request(let r) = p.next() else {
            Issue.record("no request")
            return
        }
        #expect(r.body == Array("abcd".utf8))
        // Without Expect nothing is signalled.
        var q = HTTPRequestParser()
        q.feed(Array("POST /v1/x HTTP/1.1\r\nContent-Length: 4\r\n\r\n".utf8))
        #expect(q.next() == .needMore)
        let none = q.takeExpectContinue()
        #expect(!none)
        #expect(HTTPResponse.continueLine == Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
    }

    @Test("a pipelined stream split at every byte position yields the same requests")
    func everySplit() {
        let text = "\r\nGET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloDELETE /c/%20 HTTP/1.1\r\n\r\n"
        let bytes = Array(text.utf8)
        for cut in 0...bytes.count {
            var p = HTTPRequestParser()
            var got: [HTTPRequest] = []
            for part in [bytes[..<cut], bytes[cut...]] {
                p.feed(part)
                while case .request(let r) = p.next() { got.append(r) }
            }
            #expect(got.map(\.target) == ["/a?x=1", "/b", "/c/%20"], "cut at \(cut)")
            #expect(got.count == 3 && got[1].body == Array("hello".utf8), "cut at \(cut)")
        }
    }
}
