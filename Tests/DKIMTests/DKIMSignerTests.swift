import Foundation
import SendarixCrypto
import SendarixSupport
import Testing
@testable import DKIM

/// DKIM signing checked against published data (RFC 6376 §3.4.6, RFC 8463 via dkimpy's fixtures)
/// and against an independent verifier (dkimpy's `dkimverify`).
@Suite("DKIM signing")
struct DKIMSignerTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    /// A fixture file; the message files are stored with LF line endings (as dkimpy ships them)
    /// and are used as mail travels, with CRLF.
    static func fixture(_ name: String) throws -> [UInt8] {
        let raw = Array(try Data(contentsOf: URL(fileURLWithPath: fixtures + "/" + name)))
        guard name.hasSuffix(".msg") else { return raw }
        var out: [UInt8] = []
        for b in raw {
            if b == 0x0A && out.last != 0x0D { out.append(0x0D) }
            out.append(b)
        }
        return out
    }

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    // RFC 6376 §3.4.6: the canonicalization example.
    @Test("canonicalization reproduces RFC 6376 §3.4.6")
    func rfcExample() {
        let message = DKIMMessage(Self.bytes("A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n"))
        #expect(message.fields.count == 2)
        let relaxedHeaders = message.fields.flatMap { DKIMCanonicalization.relaxed.header(message.bytes[$0]) }
        #expect(relaxedHeaders == Self.bytes("a:X\r\nb:Y Z\r\n"))
        #expect(DKIMCanonicalization.relaxed.body(message.body) == Self.bytes(" C\r\nD E\r\n"))
        let simpleHeaders = message.fields.flatMap { DKIMCanonicalization.simple.header(message.bytes[$0]) }
        #expect(simpleHeaders == Self.bytes("A: X\r\nB : Y\t\r\n\tZ  \r\n"))
        #expect(DKIMCanonicalization.simple.body(message.body) == Self.bytes(" C \r\nD \t E\r\n"))
    }

    @Test("empty and unterminated bodies (RFC 6376 §3.4.3, §3.4.4)")
    func edgeBodies() {
        #expect(DKIMCanonicalization.simple.body([][...]) == Self.bytes("\r\n"))
        #expect(DKIMCanonicalization.relaxed.body([][...]) == [])
        #expect(DKIMCanonicalization.relaxed.body(Self.bytes("\r\n\r\n")[...]) == [])
        #expect(DKIMCanonicalization.simple.body(Self.bytes("a")[...]) == Self.bytes("a\r\n"))
        #expect(DKIMCanonicalization.relaxed.body(Self.bytes("a  ")[...]) == Self.bytes("a\r\n"))
    }

    @Test("ed25519-sha256 reproduces the published signature of RFC 8463's example message (selector brisbane)")
    func rfc8463Signature() throws {
        let message = DKIMMessage(try Self.fixture("rfc6376.msg"))
        let seed = Base64Codec.decodeStrict(try Self.fixture("rfc8032_7_1.key").filter { $0 > 0x20 })!
        let key = try SigningKey(algorithm: .ed25519, privateKeyBytes: seed)
        #expect(Base64Codec.encode(key.publicKeyBytes) == Self.bytes("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="))
        // The published first signature field, with its b= value removed (simple: byte exact).
        let signed = DKIMMessage(try Self.fixture("rfc6376.signed.msg"))
        let published = Array(signed.bytes[signed.fields[0]])
        let text = String(decoding: published, as: UTF8.self)
        let bStart = text.range(of: "b=9/")!.lowerBound
        let unsigned = Array(text[..<text.index(bStart, offsetBy: 2)].utf8)
        let publishedB = text[text.index(bStart, offsetBy: 2)...].filter { !$0.isWhitespace }
        let names = ["from", "to", "subject", "date", "message-id", "from", "subject", "date"]
        let input = DKIMSigner.signatureInput(message, signedNames: names, signatureField: unsigned, canonicalization: .simple)
        let signature = try DKIMSigner.sign(input, with: key)
        #expect(String(decoding: Base64Codec.encode(signature), as: UTF8.self) == publishedB)
        // And its body hash.
        let bh = Base64Codec.encode(Digest.sha256(DKIMCanonicalization.simple.body(message.body)))
        #expect(String(decoding: bh, as: UTF8.self) == "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=")
    }

    @Test("h= lists every default header present once more than present, absent ones once; From is required")
    func headerList() throws {
        let message = DKIMMessage(Self.bytes("From: a@x.test\r\nTo: b@y.test\r\nTo: c@y.test\r\nX-Other: 1\r\n\r\nhi\r\n"))
        let names = DKIMSigner().signedNames(message)
        #expect(names.filter { $0 == "from" }.count == 2)
        #expect(names.filter { $0 == "to" }.count == 3)
        #expect(names.filter { $0 == "subject" }.count == 1)
        #expect(!names.contains("x-other"))
        let key = try SigningKey.generate(.ed25519)
        #expect(throws: DKIMSigner.SigningError.self) {
            try DKIMSigner().sign(DKIMMessage(Self.bytes("To: b@y.test\r\n\r\nhi\r\n")),
                                  with: [.init(domain: "x.test", selector: "s", key: key)], timestamp: 1)
        }
    }

    @Test("DKIM records: published text and parsing")
    func records() {
        let r = DKIMRecord(keyType: .ed25519, publicKey: [1, 2, 3])
        #expect(r.text == "v=DKIM1; k=ed25519; p=AQID")
        #expect(DKIMRecord(parsing: "v=DKIM1; k=ed25519; p=AQID") == r)
        #expect(DKIMRecord(parsing: "v=DKIM1; p=AQ ID") == DKIMRecord(keyType: .rsa, publicKey: [1, 2, 3]))
        #expect(DKIMRecord(parsing: "v=spf1 -all") == nil)
        #expect(DKIMRecord(parsing: "v=DKIM1; k=dsa; p=AQID") == nil)
        #expect(DKIMRecord.name(selector: "s1", domain: "x.test") == "s1._domainkey.x.test")
    }
}

