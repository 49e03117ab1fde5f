import Testing
@testable import SMTPCore

@Suite("Command line, xtext and base64 codecs")
struct CodecTests {
    @Test("verbs are case-insensitive and the argument is trimmed")
    func verbParsing() throws {
        let command = try SMTPCommand.parse(Array("mAiL FROM:<a@b.c> SIZE=10  ".utf8)[...])
        #expect(command.verb == .mail)
        #expect(command.argument == "FROM:<a@b.c> SIZE=10")
        #expect(try SMTPCommand.parse(Array("STARTTLS".utf8)[...]).verb == .starttls)
        #expect(try SMTPCommand.parse(Array("MAILX FROM:<a@b>".utf8)[...]).verb == nil)
        #expect(throws: SMTPCommand.SyntaxError.self) { try SMTPCommand.parse([0x4D, 0x41, 0x49, 0x4C, 0x20, 0xFF][...]) }
    }

    @Test("MAIL arguments split into path and uppercased parameters, tolerating a space after the colon")
    func pathArgument() throws {
        let parsed = try SMTPCommand.PathArgument.parse("from: <\"a>b\"@x.test> size=100 SMTPUTF8", prefix: "FROM:")
        #expect(parsed.path == "<\"a>b\"@x.test>")
        #expect(parsed.parameters == [.init(keyword: "SIZE", value: "100"), .init(keyword: "SMTPUTF8", value: nil)])
        #expect(throws: SMTPCommand.SyntaxError.self) { try SMTPCommand.PathArgument.parse("<a@b.c>", prefix: "FROM:") }
        #expect(throws: SMTPCommand.SyntaxError.self) { try SMTPCommand.PathArgument.parse("FROM:<a@b.c", prefix: "FROM:") }
        #expect(throws: SMTPCommand.SyntaxError.self) { try SMTPCommand.PathArgument.parse("FROM:<a@b.c> SIZE=", prefix: "FROM:") }
        #expect(throws: SMTPCommand.SyntaxError.self) { try SMTPCommand.PathArgument.parse("FROM:<a@b.c>X", prefix: "FROM:") }
    }

    @Test("xtext round-trips and rejects malformed escapes")
    func xtext() {
        #expect(SMTPXText.decode("a+2Bb+3Dc") == "a+b=c")
        #expect(SMTPXText.encode("a+b=c d") == "a+2Bb+3Dc+20d")
        #expect(SMTPXText.decode(SMTPXText.encode("rfc822;üser@x")) == "rfc822;üser@x")
        #expect(SMTPXText.decode("a+2") == nil)
        #expect(SMTPXText.decode("a=b") == nil)
    }

    @Test("base64 decodes padded input and rejects anything malformed")
    func base64() {
        #expect(SMTPBase64.decode(Array("AGFsaWNlAHNlY3JldA==".utf8)) == Array("\0alice\0secret".utf8))
        #expect(SMTPBase64.encode(Array("Username:".utf8)) == "VXNlcm5hbWU6")
        #expect(SMTPBase64.encode(Array("ab".utf8)) == "YWI=")
        #expect(SMTPBase64.decode(Array("YWI=".utf8)) == Array("ab".utf8))
        #expect(SMTPBase64.decode(Array("".utf8)) == [])
        #expect(SMTPBase64.decode(Array("YWI".utf8)) == nil)
        #expect(SMTPBase64.decode(Array("Y=I=".utf8)) == nil)
        #expect(SMTPBase64.decode(Array("YW I".utf8)) == nil)
    }

    @Test("replies encode multi-line form with enhanced codes and neutralise control characters")
    func replyEncoding() {
        let reply = SMTPSession.Reply(250, "2.0.0", lines: ["first", "second"])
        #expect(String(decoding: reply.bytes, as: UTF8.self) == "250-2.0.0 first\r\n250 2.0.0 second\r\n")
        #expect(String(decoding: SMTPSession.Reply(334, nil, "").bytes, as: UTF8.self) == "334 \r\n")
        #expect(String(decoding: SMTPSession.Reply(550, "5.0.0", "a\r\nb").bytes, as: UTF8.self) == "550 5.0.0 a??b\r\n")
    }

    @Test("RFC 5322 dates are formatted in UTC without a formatter")
    func dates() {
        #expect(RFC5322Date.string(from: fixedDate) == "Sun, 29 Nov 2026 09:47:19 +0000")
        #expect(RFC5322Date.string(from: .init(timeIntervalSince1970: 0)) == "Thu, 1 Jan 1970 00:00:00 +0000")
        #expect(RFC5322Date.string(from: .init(timeIntervalSince1970: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 +0000")
        #expect(RFC5322Date.string(from: .init(timeIntervalSince1970: -1)) == "Wed, 31 Dec 1969 23:59:59 +0000")
    }
}
