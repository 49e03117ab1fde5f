import Testing
@testable import HTTPCore
import SendarixSupport

@Suite("HTTP parsers under mutated input (seeded)")
struct HTTPFuzzTests {
    @Test("mutated request streams end in requests, an error or needMore, and never over-read")
    func requestMutations() {
        let base = Array("POST /v1/queue/abc/retry?x=%41 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbodyGET /health HTTP/1.1\r\n\r\n".utf8)
        let alphabet = Array("\r\n :/?%0123456789ABCDEFGHTPabcdef-".utf8) + [0x00, 0x7F, 0xFF, 0x09]
        var rng = SplitMix64(seed: 1)
        for _ in 0..<3000 {
            var doc = base
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let pos = Int.random(in: 0..<doc.count, using: &rng)
                if Bool.random(using: &rng) { doc[pos] = alphabet.randomElement(using: &rng)! } else { doc.remove(at: pos) }
            }
            var p = HTTPRequestParser(maxHeaderBytes: 256, maxBodyBytes: 64)
            var consumed = 0
            var i = 0
            while i < doc.count {
                let n = min(doc.count - i, Int.random(in: 1...16, using: &rng))
                p.feed(doc[i..<(i + n)])
                i += n
                var done = false
                while !done {
                    switch p.next() {
                    case .request(let r):
                        consumed += 1
                        #expect(r.body.count <= 64)
                    case .needMore: done = true
                    case .error(let e):
                        #expect([400, 411, 413, 431, 501, 505].contains(e.status))
                        done = true
                        i = doc.count
                    }
                }
            }
            #expect(consumed <= 2)
        }
    }

    @Test("mutated responses end in responses, an error or needMore")
    func responseMutations() {
        let base = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n".utf8)
        let alphabet = Array("\r\n :0123456789abcdefHTP;".utf8) + [0x00, 0xFF]
        var rng = SplitMix64(seed: 2)
        for _ in 0..<3000 {
            var doc = base
            let pos = Int.random(in: 0..<doc.count, using: &rng)
            if Bool.random(using: &rng) { doc[pos] = alphabet.randomElement(using: &rng)! } else { doc.remove(at: pos) }
            var p = HTTPResponseParser(maxHeaderBytes: 256, maxBodyBytes: 64)
            p.feed(doc)
            var count = 0
            loop: while true {
                switch p.next() {
                case .response(let r):
                    count += 1
                    #expect(r.body.count <= 64)
                case .needMore, .error: break loop
                }
            }
            _ = p.finish()
            #expect(count <= 2)
        }
    }
}
