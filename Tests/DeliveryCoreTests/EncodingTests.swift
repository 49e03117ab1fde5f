import Testing
import DeliveryCore
import SendarixSupport

@Suite("Wire encodings: reply parser, dot-stuffing, quoted-printable, MIME downgrade, base64")
struct EncodingTests {
    @Test("the reply parser returns multi-line replies whole and keeps the enhanced code of the first line")
    func parserMultiLine() throws {
        var parser = SMTPReplyParser()
        parser.feed(Array("250-mx.example Hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n221 2.0.0 Bye\n".utf8)[...])
        let first = try #require(try parser.nextReply())
        #expect(first.code == 250 && first.lines == ["mx.example Hello", "PIPELINING", "SIZE 1000"])
        #expect(first.enhancedCode == nil)
        let second = try #require(try parser.nextReply())
        #expect(second.description == "221 2.0.0 Bye")
        #expect(try parser.nextReply() == nil)
        #expect(parser.bufferedByteCount == 0)
    }

    @Test("the reply parser rejects lines without a code and over-long lines")
    func parserErrors() {
        var garbage = SMTPReplyParser()
        garbage.feed(Array("hello\r\n".utf8)[...])
        #expect(throws: DeliveryError.self) { try garbage.nextReply() }
        var long = SMTPReplyParser(maxLineLength: 16)
        long.feed(Array(repeating: UInt8(ascii: "2"), count: 40)[...])
        #expect(throws: DeliveryError.self) { try long.nextReply() }
        var many = SMTPReplyParser(maxLines: 2)
        many.feed(Array("250-a\r\n250-b\r\n250 c\r\n".utf8)[...])
        #expect(throws: DeliveryError.self) { try many.nextReply() }
    }

    @Test("enhanced codes parse strictly: IP addresses and wrong classes are not codes")
    func enhancedCodes() {
        #expect(EnhancedStatusCode("5.7.606") == EnhancedStatusCode(5, 7, 606))
        #expect(EnhancedStatusCode("4.16.55.1") == nil)
        #expect(EnhancedStatusCode("3.1.1") == nil)
        #expect(EnhancedStatusCode("5.1") == nil)
        #expect(SMTPReply(parsing: "550 5.7.1 text")?.enhancedCode == EnhancedStatusCode(5, 7, 1))
        #expect(SMTPReply(parsing: "550 4.7.1 mismatched class")?.enhancedCode == nil)
        #expect(SMTPReply(parsing: "550 192.0.2.1 blocked")?.enhancedCode == nil)
    }

    @Test("DATA payload: leading dots doubled, bare CR and LF canonicalised, final CRLF and dot added")
    func dataPayload() {
        let payload = SMTPBody.dataPayload(Array("a\r\n.b\n.\rc".utf8))
        #expect(String(decoding: payload, as: UTF8.self) == "a\r\n..b\r\n..\r\nc\r\n.\r\n")
        #expect(String(decoding: SMTPBody.dataPayload([]), as: UTF8.self) == ".\r\n")
        #expect(String(decoding: SMTPBody.canonical(Array(".x\n".utf8)), as: UTF8.self) == ".x\r\n")
    }

    /// Straightforward reference: canonicalise line ends, then stuff dots, then terminate.
    static func referencePayload(_ input: [UInt8], dotStuff: Bool) -> [UInt8] {
        var lines: [[UInt8]] = []
        var current: [UInt8] = []
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == 13 || byte == 10 {
                lines.append(current)
                current = []
                index += (byte == 13 && index + 1 < input.count && input[index + 1] == 10) ? 2 : 1
                continue
            }
            current.append(byte)
            index += 1
        }
        if !current.isEmpty { lines.append(current) }
        var out: [UInt8] = []
        for line in lines {
            if dotStuff, line.first == 46 { out.append(46) }
            out += line + [13, 10]
        }
        return dotStuff ? out + [46, 13, 10] : out
    }

    @Test("the word-at-a-time body encoder matches a simple reference on random inputs")
    func bodyEncoderMatchesReference() {
        var generator = SplitMix64(seed: 77)
        let alphabet: [UInt8] = [97, 98, 46, 13, 10, 0xC3, 32]
        for _ in 0..<2000 {
            let length = Int.random(in: 0...90, using: &generator)
            let input = (0..<length).map { _ in
                Bool.random(using: &generator) ? 120 : alphabet.randomElement(using: &generator)!
            }
            #expect(SMTPBody.dataPayload(input) == Self.referencePayload(input, dotStuff: true), "\(input)")
            #expect(SMTPBody.canonical(input) == Self.referencePayload(input, dotStuff: false), "\(input)")
        }
    }

    @Test("one-pass encoding: long lines with tabs and control bytes around CR and LF at every word offset match the reference, and its 8-bit answer matches containsEightBit")
    func bodyEncoderLongLines() {
        var generator = SplitMix64(seed: 2026)
        let pieces: [[UInt8]] = [
            [13, 10], [13, 10], [13, 10, 46], [13], [10], [9], [1], [11, 12], [14], [46], [0xC3, 0xA9], [0x80],
            Array(repeating: 120, count: 7), Array(repeating: 121, count: 13), Array(repeating: 122, count: 64),
        ]
        for _ in 0..<3000 {
            var input: [UInt8] = []
            for _ in 0..<Int.random(in: 0...40, using: &generator) {
                input += pieces[Int.random(in: 0..<pieces.count, using: &generator)]
            }
            let data = SMTPBody.encode(input, dotStuff: true)
            let bdat = SMTPBody.encode(input, dotStuff: false)
            #expect(data.bytes == Self.referencePayload(input, dotStuff: true), "\(input)")
            #expect(bdat.bytes == Self.referencePayload(input, dotStuff: false), "\(input)")
            #expect(data.eightBit == input.contains { $0 >= 0x80 }, "\(input)")
            #expect(bdat.eightBit == data.eightBit && SMTPBody.containsEightBit(input) == data.eightBit)
        }
    }

    @Test("8-bit detection finds a high byte at any position")
    func eightBitDetection() {
        for length in [1, 7, 8, 9, 31, 100] {
            for position in 0..<length {
                var bytes = [UInt8](repeating: 65, count: length)
                #expect(!SMTPBody.containsEightBit(bytes))
                #expect(!SMTPBody.encode(bytes, dotStuff: true).eightBit)
                bytes[position] = 0xC3
                #expect(SMTPBody.containsEightBit(bytes))
                #expect(SMTPBody.encode(bytes, dotStuff: true).eightBit, "length \(length) position \(position)")
                if position > 0 { bytes[position - 1] = 9 } // a tab before it: the byte-by-byte word
                #expect(SMTPBody.encode(bytes, dotStuff: false).eightBit, "length \(length) position \(position)")
            }
        }
    }

    @Test("quoted-printable encodes 8-bit bytes, '=' and trailing spaces, keeps lines at most 76 and round-trips")
    func quotedPrintable() {
        let input = Array("Caf\u{E9} = 100%  \r\n".utf8) + Array(repeating: UInt8(ascii: "x"), count: 200) + Array("\r\n\u{FC}ber \r\n".utf8)
        let encoded = QuotedPrintable.encode(input)
        let text = String(decoding: encoded, as: UTF8.self)
        #expect(text.hasPrefix("Caf=C3=A9 =3D 100% =20\r\n"))
        #expect(!encoded.contains { $0 >= 0x80 })
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: false) {
            #expect(line.utf8.count <= 76)
        }
        #expect(QuotedPrintable.decode(encoded) == input)
    }

    @Test("MIME downgrade converts only the 8-bit leaf of a multipart message and relabels encodings")
    func mimeDowngradeMultipart() throws {
        let original = """
        From: a@example.com\r
        MIME-Version: 1.0\r
        Content-Type: multipart/mixed; boundary="b1"\r
        Content-Transfer-Encoding: 8bit\r
        \r
        preamble\r
        --b1\r
        Content-Type: text/plain; charset=utf-8\r
        Content-Transfer-Encoding: 8bit\r
        \r
        Gr\u{FC}\u{DF}e\r
        --b1\r
        Content-Type: text/plain\r
        \r
        plain ascii\r
        --b1\r
        Content-Type: application/octet-stream\r
        Content-Transfer-Encoding: 8bit\r
        \r
        \u{FF}\u{FE}\r
        --b1--\r
        epilogue\r

        """
        let converted = try #require(MIMEDowngrade.convert(Array(original.utf8)))
        #expect(!SMTPBody.containsEightBit(converted))
        let text = String(decoding: converted, as: UTF8.self)
        #expect(text.contains("Content-Type: multipart/mixed; boundary=\"b1\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\npreamble\r\n--b1\r\n"))
        #expect(text.contains("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\n--b1\r\n"))
        #expect(text.contains("Content-Type: text/plain\r\n\r\nplain ascii\r\n--b1\r\n"))
        #expect(text.contains("Content-Transfer-Encoding: base64\r\n\r\nw7/Dvg==\r\n\r\n--b1--\r\nepilogue\r\n"))
    }

    @Test("MIME downgrade labels a non-MIME 8-bit message unknown-8bit and refuses 8-bit headers or 8-bit base64")
    func mimeDowngradeEdges() throws {
        let plain = try #require(MIMEDowngrade.convert(Array("Subject: x\r\n\r\n\u{E9}\r\n".utf8)))
        let text = String(decoding: plain, as: UTF8.self)
        #expect(text == "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=unknown-8bit\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9\r\n")
        #expect(MIMEDowngrade.convert(Array("Subject: \u{E9}\r\n\r\nbody\r\n".utf8)) == nil)
        #expect(MIMEDowngrade.convert(Array("Content-Transfer-Encoding: base64\r\n\r\n\u{E9}\r\n".utf8)) == nil)
        let ascii = Array("Subject: x\r\n\r\nhello\r\n".utf8)
        #expect(MIMEDowngrade.convert(ascii) == ascii)
    }

    @Test("base64 matches RFC 4648 test vectors and decodes back")
    func base64() {
        let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in vectors {
            #expect(String(decoding: Base64.encode(Array(plain.utf8)), as: UTF8.self) == encoded)
            #expect(Base64.decode(Array(encoded.utf8)) == Array(plain.utf8))
        }
        #expect(Base64.decode(Array("Zm9v!".utf8)) == nil)
    }

    @Test("xtext escapes '+', '=', spaces and non-ASCII; paths with CR, LF or brackets are invalid")
    func xtextAndPaths() {
        #expect(String(decoding: SMTPClientSession.xtext("a+b=c d"), as: UTF8.self) == "a+2Bb+3Dc+20d")
        #expect(SMTPClientSession.isValidPath("user@example.com"))
        #expect(SMTPClientSession.isValidPath(""))
        #expect(!SMTPClientSession.isValidPath("a@b>\r\nDATA"))
        #expect(!SMTPClientSession.isValidPath("a b@example.com"))
    }
}
