import Foundation
import SendarixCrypto
import SendarixSupport
import Testing
import DKIM

/// Signatures checked by an independent implementation: dkimpy (`python3-dkim`, run with the
/// system interpreter), given our public keys through its DNS hook, never a real resolver.
@Suite("DKIM signatures verified by dkimpy")
struct DKIMVerifierInteropTests {
    /// Verifies every DKIM-Signature of the message on stdin; prints one line per signature.
    static let verifier = #"""
    import sys, dkim
    records = {}
    for arg in sys.argv[1:]:
        name, txt = arg.split("=", 1)
        records[name.encode()] = txt.encode()
    def dnsfunc(name, timeout=5):
        return records.get(name.rstrip(b".") , None)
    msg = sys.stdin.buffer.read()
    d = dkim.DKIM(msg)
    sigs = [h for h in d.headers if h[0].lower() == b"dkim-signature"]
    results = []
    for i in range(len(sigs)):
        try:
            ok = d.verify(idx=i, dnsfunc=dnsfunc)
        except dkim.DKIMException:
            ok = False
        results.append("pass" if ok else "fail")
    print(" ".join(results))
    """#

    static func verify(_ message: [UInt8], records: [String: String]) throws -> String {
        let dir = NSTemporaryDirectory() + "sx-dkim-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(message).write(to: URL(fileURLWithPath: dir + "/msg"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", verifier] + records.map { "\($0.key)=\($0.value)" }
        p.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: dir + "/msg"))
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let message = Array(("From: App <app@mail.example.test>\r\nTo: user@dest.test\r\nSubject:  Hello   there \r\n"
        + "Date: Fri, 04 Dec 2026 22:00:00 +0000\r\nMessage-ID: <1@mail.example.test>\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: text/plain; charset=utf-8\r\n\r\nHello  world \r\n\r\n. a dot line\r\n\r\n\r\n").utf8)

    @Test("an RSA-2048 and an Ed25519 signature (relaxed/relaxed) both verify with dkimpy; a changed body byte or an added header fails both")
    func dualSignature() throws {
        let rsa = try SigningKey.generate(.rsa)
        let ed = try SigningKey.generate(.ed25519)
        let identities = [DKIMSigner.Identity(domain: "mail.example.test", selector: "rsa1", key: rsa),
                          DKIMSigner.Identity(domain: "mail.example.test", selector: "ed1", key: ed)]
        let headers = try DKIMSigner().sign(DKIMMessage(Self.message), with: identities, timestamp: 1_796_000_000)
        let signed = headers + Self.message
        let records = [
            "rsa1._domainkey.mail.example.test": DKIMRecord(keyType: .rsa, publicKey: rsa.publicKeyBytes).text,
            "ed1._domainkey.mail.example.test": DKIMRecord(keyType: .ed25519, publicKey: ed.publicKeyBytes).text,
        ]
        #expect(try Self.verify(signed, records: records) == "pass pass")
        // A body byte changed in transit.
        var altered = signed
        let at = altered.count - 8
        altered[at] = altered[at] == 0x61 ? 0x62 : 0x61
        let alteredResult = try Self.verify(altered, records: records)
        #expect(alteredResult == "fail fail", "\(alteredResult)")
        // A second Subject added (oversigning makes that break the signature).
        let injected = headers + Array("Subject: injected\r\n".utf8) + Self.message
        #expect(try Self.verify(injected, records: records) == "fail fail")
        // Whitespace changes in headers survive relaxed canonicalization.
        let text = String(decoding: signed, as: UTF8.self).replacingOccurrences(of: "Subject:  Hello   there ", with: "Subject: Hello there")
        #expect(try Self.verify(Array(text.utf8), records: records) == "pass pass")
    }

    @Test("the wrong published key fails verification")
    func wrongKey() throws {
        let key = try SigningKey.generate(.ed25519)
        let other = try SigningKey.generate(.ed25519)
        let headers = try DKIMSigner().sign(DKIMMessage(Self.message),
                                            with: [.init(domain: "mail.example.test", selector: "s", key: key)], timestamp: 1)
        let records = ["s._domainkey.mail.example.test": DKIMRecord(keyType: .ed25519, publicKey: other.publicKeyBytes).text]
        #expect(try Self.verify(headers + Self.message, records: records) == "fail")
    }
}
