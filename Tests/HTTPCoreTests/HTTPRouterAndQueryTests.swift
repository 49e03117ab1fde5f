import Testing
@testable import HTTPCore

@Suite("HTTP router and query decoding")
struct HTTPRouterAndQueryTests {
    func router() -> HTTPRouter<String> {
        var r = HTTPRouter<String>()
        r.add("GET", "/health", "health")
        r.add("GET", "/v1/queue", "queue.list")
        r.add("GET", "/v1/queue/:id", "queue.show")
        r.add("DELETE", "/v1/queue/:id", "queue.delete")
        r.add("POST", "/v1/queue/:id/retry", "queue.retry")
        r.add("GET", "/v1/queue/stats", "queue.stats")
        r.add("GET", "/files/*", "files")
        return r
    }

    @Test("captures are bound and percent-decoded")
    func capture() {
        guard case .matched(let h, let params) = router().match(method: "GET", path: "/v1/queue/ab%2Fc") else {
            Issue.record("no match")
            return
        }
        #expect(h == "queue.show")
        #expect(params == ["id": "ab/c"])
    }

    @Test("a literal segment wins over a capture and trailing slashes are ignored")
    func literalWins() {
        guard case .matched(let h, _) = router().match(method: "GET", path: "/v1/queue/stats/") else {
            Issue.record("no match")
            return
        }
        #expect(h == "queue.stats")
    }

    @Test("wrong method gives 405 with the allowed methods, unknown path gives 404")
    func notAllowed() {
        guard case .methodNotAllowed(let allowed) = router().match(method: "PUT", path: "/v1/queue/x") else {
            Issue.record("expected 405")
            return
        }
        #expect(Set(allowed) == ["GET", "DELETE", "HEAD"])
        guard case .notFound = router().match(method: "GET", path: "/v1/nothing") else {
            Issue.record("expected 404")
            return
        }
        guard case .notFound = router().match(method: "GET", path: "/v1/queue/a/b/c") else {
            Issue.record("expected 404 for extra segments")
            return
        }
    }

    @Test("HEAD falls back to GET and a rest pattern captures the remainder")
    func headAndRest() {
        guard case .matched(let h, _) = router().match(method: "HEAD", path: "/health") else {
            Issue.record("no HEAD fallback")
            return
        }
        #expect(h == "health")
        guard case .matched(_, let params) = router().match(method: "GET", path: "/files/a/b%20c") else {
            Issue.record("no rest match")
            return
        }
        #expect(params["*"] == "a/b c")
    }

    @Test("query strings decode plus, percent escapes, bare names and reject bad escapes")
    func query() {
        let items = HTTPQuery.parse("a=1&b=x+y%21&&c&d=%E2%9C%93")
        #expect(items == [.init(name: "a", value: "1"), .init(name: "b", value: "x y!"),
                          .init(name: "c", value: ""), .init(name: "d", value: "✓")])
        #expect(HTTPQuery.parse("a=%zz") == nil)
        #expect(HTTPQuery.parse("a=%4") == nil)
        #expect(HTTPQuery.parse("a=%FF") == nil) // invalid UTF-8
        #expect(HTTPQuery.percentDecode("a+b") == "a+b")
    }

    @Test("percent encoding round-trips through decoding")
    func encodeRoundTrip() {
        let s = "user@example.test/ä b&c=d"
        let e = HTTPQuery.percentEncode(s)
        #expect(e == "user%40example.test%2F%C3%A4%20b%26c%3Dd")
        #expect(HTTPQuery.percentDecode(e) == s)
        #expect(HTTPQuery.encode([.init(name: "q", value: "a b")]) == "q=a%20b")
    }

    @Test("header lookup ignores ASCII case and token search splits lists")
    func headers() {
        var h: HTTPHeaders = ["Connection": "keep-alive, Upgrade", "X-A": "1"]
        h.add("x-a", "2")
        #expect(h["CONNECTION"] == "keep-alive, Upgrade")
        #expect(h.contains("connection", token: "upgrade"))
        #expect(!h.contains("connection", token: "close"))
        #expect(h.values("X-A") == ["1", "2"])
        h.set("X-A", "3")
        #expect(h.values("x-a") == ["3"])
        #expect(!HTTPHeaders.equalsIgnoringCase("a[", "A{"))
    }
}
