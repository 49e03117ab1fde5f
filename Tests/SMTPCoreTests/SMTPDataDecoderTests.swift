import Testing
@testable import SMTPCore

/// Feeds `input` in pieces of `step` bytes; returns body, problem and bytes consumed (nil if never finished).
func decode(_ input: [UInt8], step: Int = .max, maxLine: Int = 998, maxSize: Int = 1 << 20)
    -> (body: [UInt8], problem: SMTPDataDecoder.Problem?, consumed: Int?) {
    var decoder = SMTPDataDecoder(maxLineLength: maxLine, maxSize: maxSize)
    var body: [UInt8] = []
    var offset = 0
    while offset < input.count {
        let end = min(input.count, offset + min(step, input.count))
        let progress = input[offset..<end].withUnsafeBufferPointer { decoder.decode($0, into: &body) }
        offset += progress.consumed
        if progress.finished { return (body, decoder.problem, offset) }
    }
    return (body, decoder.problem, nil)
}

@Suite("DATA decoding: dot-unstuffing, end of data, smuggling, limits")
struct SMTPDataDecoderTests {
    @Test("the message ends at CRLF.CRLF and dot-stuffed lines lose one dot")
    func unstuffing() {
        let input = Array("Subject: x\r\n\r\n..leading dot\r\n.x\r\nend\r\n.\r\nQUIT\r\n".utf8)
        let result = decode(input)
        #expect(String(decoding: result.body, as: UTF8.self) == "Subject: x\r\n\r\n.leading dot\r\nx\r\nend\r\n")
        #expect(result.problem == nil)
        #expect(result.consumed == input.count - 6)
    }

    @Test("an empty message is a lone dot line")
    func emptyMessage() {
        let result = decode(Array(".\r\n".utf8))
        #expect(result.body.isEmpty)
        #expect(result.consumed == 3)
    }

    @Test("the result is the same whatever the split of the input, down to single bytes")
    func splitIndependence() {
        let input = Array("a\r\n..b\r\n.\r\r\n\r\n.\r\n".utf8)
        let whole = decode(input)
        for step in 1...7 {
            let split = decode(input, step: step)
            #expect(split.body == whole.body, "step \(step)")
            #expect(split.problem == whole.problem, "step \(step)")
            #expect(split.consumed == whole.consumed, "step \(step)")
        }
    }

    @Test("bare LF or bare CR marks the message and never ends it", arguments: [
        "\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r\n.\r", "\r.\r\n", "\n.\r", "\r.\n", "\n", "\r",
    ])
    func bareLineEndings(variant: String) {
        let input = Array(("body" + variant + "MAIL FROM:<x@evil.test>\r\n.\r\nNEXT").utf8)
        let result = decode(input)
        #expect(result.problem == .bareLineEnding)
        #expect(result.body.isEmpty)
        #expect(result.consumed == input.count - 4, "must end only at the real CRLF.CRLF")
    }

    @Test("8-bit and NUL bytes pass through unchanged")
    func eightBit() {
        let body: [UInt8] = [0xC3, 0xBC, 0x00, 0xFF, 0x0D, 0x0A]
        let result = decode(body + Array(".\r\n".utf8))
        #expect(result.body == body)
        #expect(result.problem == nil)
    }

    @Test("a line of 998 octets is fine, 999 is too long, and consumption continues to the end")
    func lineLength() {
        let ok = decode(Array((String(repeating: "a", count: 998) + "\r\n.\r\n").utf8))
        #expect(ok.problem == nil)
        let long = Array((String(repeating: "a", count: 999) + "\r\nmore\r\n.\r\n").utf8)
        let bad = decode(long, step: 100)
        #expect(bad.problem == .lineTooLong)
        #expect(bad.consumed == long.count)
    }

    @Test("size limit: nothing beyond the limit is stored, decoding goes on to the end")
    func sizeLimit() {
        let input = Array((String(repeating: "x", count: 50) + "\r\n" + String(repeating: "y", count: 50) + "\r\n.\r\n").utf8)
        let result = decode(input, step: 16, maxSize: 60)
        #expect(result.problem == .tooLarge)
        #expect(result.body.isEmpty)
        #expect(result.consumed == input.count)
        #expect(decode(input, maxSize: 104).problem == nil)
        #expect(decode(input, maxSize: 103).problem == .tooLarge)
    }
}
