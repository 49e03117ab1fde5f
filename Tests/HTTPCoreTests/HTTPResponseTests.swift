import Testing
@testable import HTTPCore

func parseResponses(_ chunks: [String], headRequest: Bool = false, finish: Bool = false) -> [HTTPResponseParser.Event] {
    var p = HTTPResponseParser()
    var events: [HTTPResponseParser.Event] = []
    for c in chunks {
        p.feed(Array(c.utf8))
        while true {
            let e = p.next(headRequest: headRequest)
            if e == .needMore { break }
            events.append(e)
            if case .error = e { return events }
        }
    }
    if finish {
        let e = p.finish()
        if e != .needMore { events.append(e) }
    }
    return events
}

func bodies(_ events: [HTTPResponseParser.Event]) -> [String] {
    events.compactMap { if case .response(let r) = $0 { return String(decoding: r.body, as: UTF8.self) } else { return nil } }
}

@Suite("HTTP responses")
struct HTTPResponseTests {
    @Test("serialize writes status line, Content-Length and Connection, replacing user framing headers")
    func serialize() {
        var r = HTTPResponse.json(200, Array("{\"ok\":true}".utf8))
        r.headers.add("Content-Length", "999")
        r.headers.add("Connection", "upgrade")
        let text = String(decoding: r.serialize(keepAlive: true), as: UTF8.self)
        #expect(text == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: keep-alive\r\n\r\n{\"ok\":true}")
        let closing = String(decoding: HTTPResponse(status: 204).serialize(keepAlive: false), as: UTF8.self)
        #expect(closing == "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
    }

    @Test("a HEAD response keeps Content-Length but omits the body")
    func headResponse() {
        let text = String(decoding: HTTPResponse.text(200, "hello").serialize(keepAlive: true, headRequest: true), as: UTF8.self)
        #expect(text.hasSuffix("Content-Length: 5\r\nConnection: keep-alive\r\n\r\n"))
    }

    @Test("a serialized response parses back through the client parser")
    func roundTrip() {
        let wire = HTTPResponse.text(404, "nope").serialize(keepAlive: true)
        var p = HTTPResponseParser()
        p.feed(wire)
        guard case .response(let r) = p.next() else {
            Issue.record("no response")
            return
        }
        #expect(r.status == 404)
        #expect(r.reason == "Not Found")
        #expect(r.body == Array("nope".utf8))
    }

    @Test("chunked bodies split at awkward points decode, with extensions and trailers")
    func chunked() {
        let wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: y\r\n\r\n"
        let whole = parseResponses([wire])
        #expect(bodies(whole) == ["hello, world"])
        // Every split point must give the same result.
        let bytes = Array(wire.utf8)
        for cut in 1..<bytes.count {
            let a = String(decoding: bytes[..<cut], as: UTF8.self), b = String(decoding: bytes[cut...], as: UTF8.self)
            #expect(bodies(parseResponses([a, b])) == ["hello, world"], "cut at \(cut)")
        }
    }

    @Test("pipelined responses with Content-Length come out in order")
    func pipelined() {
        let wire = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc"
        #expect(bodies(parseResponses([wire])) == ["ab", "", "c"])
    }

    @Test("a body without length runs until the connection closes")
    func untilClose() {
        let events = parseResponses(["HTTP/1.0 200 OK\r\n\r\npart1", "part2"], finish: true)
        #expect(bodies(events) == ["part1part2"])
    }

    @Test("interim 100 Continue is skipped and HEAD responses have no body")
    func interimAndHead() {
        #expect(bodies(parseResponses(["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])) == ["ok"])
        #expect(bodies(parseResponses(["HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"], headRequest: true)) == [""])
    }

    @Test("truncated responses and malformed status lines are errors")
    func errors() {
        let t = parseResponses(["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"], finish: true)
        #expect(t.last == .error(HTTPParseError(.truncated, "connection closed mid-response")))
        for bad in ["HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"] {
            guard case .error? = parseResponses([bad]).last else {
                Issue.record("accepted \(bad.debugDescription)")
                continue
            }
        }
    }

    @Test("a response body over the client limit is rejected")
    func bodyLimit() {
        var p = HTTPResponseParser(maxBodyBytes: 4)
        p.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n12345".utf8))
        #expect(p.next() == .error(HTTPParseError(.bodyTooLarge, "response body too large")))
    }
}
