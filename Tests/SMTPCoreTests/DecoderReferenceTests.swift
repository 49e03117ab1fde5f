import Testing
@testable import SMTPCore
import SendarixSupport

/// The obvious byte-at-a-time, line-based decoder the fast one must agree with.
func referenceDecode(_ input: [UInt8], maxLine: Int, maxSize: Int)
    -> (body: [UInt8], problem: SMTPDataDecoder.Problem?, consumed: Int?) {
    var body: [UInt8] = []
    var problem: SMTPDataDecoder.Problem?
    func flag(_ p: SMTPDataDecoder.Problem) { if problem == nil { problem = p } }
    var lineStart = 0
    var previousEndedCRLF = true
    var index = 0
    while index < input.count {
        // Find the end of this line: the first CR or LF.
        var end = lineStart
        while end < input.count && input[end] != 0x0D && input[end] != 0x0A { end += 1 }
        guard end < input.count else { return (problem == nil ? body : [], problem, nil) }
        let line = Array(input[lineStart..<end])
        let crlf = input[end] == 0x0D && end + 1 < input.count && input[end + 1] == 0x0A
        if input[end] == 0x0D && end + 1 >= input.count { return (problem == nil ? body : [], problem, nil) }
        let next = crlf ? end + 2 : end + 1
        if crlf && previousEndedCRLF && line == [0x2E] {
            return (problem == nil ? body : [], problem, next)
        }
        if !crlf { flag(.bareLineEnding) }
        if line.count > maxLine { flag(.lineTooLong) }
        var content = line
        if previousEndedCRLF && content.first == 0x2E { content.removeFirst() }
        if crlf { content += [0x0D, 0x0A] } else { content += [input[end]] }
        if problem == nil {
            if body.count + content.count > maxSize { flag(.tooLarge) } else { body += content }
        }
        previousEndedCRLF = crlf
        lineStart = next
        index = next
    }
    return (problem == nil ? body : [], problem, nil)
}

@Suite("DATA decoder agrees with a simple reference on random inputs")
struct DecoderReferenceTests {
    static let pieces: [[UInt8]] = [
        Array("\r\n".utf8), Array(".".utf8), Array("..".utf8), Array("\r".utf8), Array("\n".utf8),
        Array("abc".utf8), Array("0123456789abcdef0123".utf8), [0x00, 0xFF], Array("\r\n.\r\n".utf8),
    ]

    @Test("3000 random messages, each fed whole and in random splits, match the reference")
    func randomAgreement() {
        var rng = SplitMix64(seed: 42)
        for round in 0..<3000 {
            var input: [UInt8] = []
            for _ in 0..<Int.random(in: 1...24, using: &rng) {
                input += Self.pieces[Int.random(in: 0..<Self.pieces.count, using: &rng)]
            }
            let maxLine = Int.random(in: 5...40, using: &rng)
            let maxSize = Int.random(in: 10...200, using: &rng)
            let expected = referenceDecode(input, maxLine: maxLine, maxSize: maxSize)
            let step = Int.random(in: 1...input.count, using: &rng)
            let actual = decode(input, step: step, maxLine: maxLine, maxSize: maxSize)
            // Unfinished input is only compared on consumption; a rejected message only on being rejected.
            #expect(actual.consumed == expected.consumed, "round \(round)")
            if expected.consumed != nil {
                #expect((actual.problem == nil) == (expected.problem == nil), "round \(round)")
                if expected.problem == nil {
                    #expect(actual.body == expected.body, "round \(round)")
                }
            }
        }
    }

    static let longPieces: [[UInt8]] = [
        Array("\r\n".utf8), Array("\r\n".utf8), Array("\r\n.".utf8), Array("\r\n..".utf8), Array("\r".utf8),
        Array("\n".utf8), Array("\t".utf8), [0x01], [0x0B, 0x0C], [0x0E], [0xC3, 0xA9],
        Array(repeating: UInt8(ascii: "x"), count: 7), Array(repeating: UInt8(ascii: "y"), count: 13),
        Array(repeating: UInt8(ascii: "z"), count: 64), Array("\r\n.\r\n".utf8),
    ]

    @Test("long lines with tabs and other control bytes next to CR and LF at every offset of an 8-byte word, fed whole and split, match the reference")
    func longLinesAgreement() {
        var rng = SplitMix64(seed: 4711)
        for round in 0..<3000 {
            var input: [UInt8] = []
            for _ in 0..<Int.random(in: 1...40, using: &rng) {
                input += Self.longPieces[Int.random(in: 0..<Self.longPieces.count, using: &rng)]
            }
            let maxLine = Int.random(in: 40...400, using: &rng)
            let maxSize = Int.random(in: 100...4000, using: &rng)
            let expected = referenceDecode(input, maxLine: maxLine, maxSize: maxSize)
            for step in [input.count, Int.random(in: 1...input.count, using: &rng)] {
                let actual = decode(input, step: step, maxLine: maxLine, maxSize: maxSize)
                #expect(actual.consumed == expected.consumed, "round \(round) step \(step)")
                if expected.consumed != nil {
                    #expect((actual.problem == nil) == (expected.problem == nil), "round \(round) step \(step)")
                    if expected.problem == nil {
                        #expect(actual.body == expected.body, "round \(round) step \(step)")
                    }
                }
            }
        }
    }
}
