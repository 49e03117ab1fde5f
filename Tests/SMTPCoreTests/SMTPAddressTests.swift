import Testing
@testable import SMTPCore

@Suite("SMTPAddress parsing (RFC 5321 4.1.2)")
struct SMTPAddressTests {
    @Test("a plain mailbox keeps its local part and lowercases only the normalized domain")
    func plainMailbox() throws {
        let address = try SMTPAddress.parse("John.Doe+tag@Example.COM")
        #expect(address.localPart == "John.Doe+tag")
        #expect(address.domain == "Example.COM")
        #expect(address.normalizedDomain == "example.com")
        #expect(address.address == "John.Doe+tag@Example.COM")
        #expect(address.path == "<John.Doe+tag@Example.COM>")
        #expect(address == (try SMTPAddress.parse("John.Doe+tag@example.com")))
        #expect(address != (try SMTPAddress.parse("john.doe+tag@example.com")))
    }

    @Test("quoted local parts with spaces, escapes and a > are accepted as given")
    func quotedLocalPart() throws {
        let address = try SMTPAddress.parse(#""john \"q\" doe>"@example.com"#)
        #expect(address.localPart == #""john \"q\" doe>""#)
        let path = try #require(try SMTPAddress.parsePath(#"<"a b"@example.com>"#))
        #expect(path.localPart == #""a b""#)
    }

    @Test("IPv4 and IPv6 address literals are accepted, malformed ones are not")
    func addressLiterals() throws {
        #expect(try SMTPAddress.parse("user@[192.0.2.1]").isAddressLiteral)
        #expect(try SMTPAddress.parse("user@[IPv6:2001:db8::1]").domain == "[IPv6:2001:db8::1]")
        #expect(try SMTPAddress.parse("user@[IPv6:::ffff:192.0.2.1]").isAddressLiteral)
        #expect(try SMTPAddress.parse("user@[IPv6:1:2:3:4:5:6:7:8]").isAddressLiteral)
        for bad in ["user@[256.0.0.1]", "user@[1.2.3]", "user@[IPv6:1:::2]", "user@[IPv6:1:2:3:4:5:6:7:8:9]",
                    "user@[tag:content]", "user@[1.2.3.4", "user@[]"] {
            #expect(throws: SMTPAddress.ParseError.self, "\(bad)") { try SMTPAddress.parse(bad) }
        }
    }

    @Test("the null path parses to nil and source routes are ignored")
    func pathForms() throws {
        #expect(try SMTPAddress.parsePath("<>") == nil)
        let routed = try #require(try SMTPAddress.parsePath("<@relay1.test,@relay2.test:user@final.test>"))
        #expect(routed.address == "user@final.test")
    }

    @Test("paths without brackets, or longer than 256 octets, are rejected")
    func pathErrors() {
        #expect(throws: SMTPAddress.ParseError.self) { try SMTPAddress.parsePath("user@example.com") }
        #expect(throws: SMTPAddress.ParseError.self) { try SMTPAddress.parsePath("<user@example.com") }
        let long = "<" + String(repeating: "a", count: 60) + "@" + String(repeating: "b.", count: 100) + "com>"
        do {
            _ = try SMTPAddress.parsePath(long)
            Issue.record("expected failure")
        } catch {
            #expect(error.code == .pathTooLong)
        }
    }

    @Test("invalid local parts and domains are rejected with a specific code", arguments: [
        ("a..b@example.com", SMTPAddress.ParseError.Code.invalidLocalPart),
        (".a@example.com", .invalidLocalPart),
        ("a.@example.com", .invalidLocalPart),
        ("a b@example.com", .invalidLocalPart),
        ("userexample.com", .missingAt),
        ("user@", .invalidDomain),
        ("user@-bad.com", .invalidDomain),
        ("user@bad-.com", .invalidDomain),
        ("user@exa_mple.com", .invalidDomain),
        ("user@example..com", .invalidDomain),
        ("user@example.com.", .invalidDomain),
        ("@example.com", .invalidLocalPart),
        ("", .empty),
    ])
    func invalid(input: String, code: SMTPAddress.ParseError.Code) {
        do {
            _ = try SMTPAddress.parse(input)
            Issue.record("\(input) should not parse")
        } catch {
            #expect(error.code == code, "\(input)")
        }
    }

    @Test("length limits: 64 octets of local part, 63 per label")
    func lengthLimits() throws {
        _ = try SMTPAddress.parse(String(repeating: "a", count: 64) + "@example.com")
        #expect(throws: SMTPAddress.ParseError.self) {
            try SMTPAddress.parse(String(repeating: "a", count: 65) + "@example.com")
        }
        #expect(throws: SMTPAddress.ParseError.self) {
            try SMTPAddress.parse("a@" + String(repeating: "b", count: 64) + ".com")
        }
    }

    @Test("UTF-8 addresses need SMTPUTF8")
    func utf8() throws {
        do {
            _ = try SMTPAddress.parse("jürgen@bücher.de")
            Issue.record("non-ASCII accepted without SMTPUTF8")
        } catch {
            #expect(error.code == .nonASCII)
        }
        let address = try SMTPAddress.parse("jürgen@Bücher.de", allowUTF8: true)
        #expect(address.localPart == "jürgen")
        #expect(address.normalizedDomain == "bücher.de")
        #expect(address.requiresSMTPUTF8)
    }

    @Test("all RFC 5322 atext specials are valid in a dot-string")
    func atextSpecials() throws {
        let address = try SMTPAddress.parse("!#$%&'*+-/=?^_`{|}~@example.com")
        #expect(address.localPart == "!#$%&'*+-/=?^_`{|}~")
    }
}
