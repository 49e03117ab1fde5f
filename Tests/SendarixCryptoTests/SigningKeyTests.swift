import Foundation
import SendarixSupport
import Testing
@testable import SendarixCrypto

/// Keys sign what verifiers accept; Ed25519 reproduces RFC 8032's published vectors.
@Suite("Signing keys")
struct SigningKeyTests {
    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    // RFC 8032 §7.1, TEST 1 and TEST 2 (https://www.rfc-editor.org/rfc/rfc8032#section-7.1).
    @Test("Ed25519 reproduces RFC 8032 §7.1 TEST 1 and TEST 2 byte for byte", arguments: [
        ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ])
    func ed25519Vectors(secret: String, publicKey: String, message: String, signature: String) throws {
        let key = try SigningKey(algorithm: .ed25519, privateKeyBytes: Self.hex(secret))
        #expect(key.publicKeyBytes == Self.hex(publicKey))
        #expect(try key.sign(Self.hex(message)) == Self.hex(signature))
        #expect(SigningKey.verify(signature: Self.hex(signature), data: Self.hex(message), publicKey: Self.hex(publicKey), algorithm: .ed25519))
    }

    @Test("generated RSA-2048 and Ed25519 keys sign, verify, survive their stored form, and reject altered data")
    func roundTrip() throws {
        for algorithm in SigningKey.Algorithm.allCases {
            let key = try SigningKey.generate(algorithm)
            let data = Array("the message".utf8)
            let signature = try key.sign(data)
            #expect(SigningKey.verify(signature: signature, data: data, publicKey: key.publicKeyBytes, algorithm: algorithm))
            #expect(!SigningKey.verify(signature: signature, data: data + [0], publicKey: key.publicKeyBytes, algorithm: algorithm))
            let again = try SigningKey(algorithm: algorithm, privateKeyBytes: key.privateKeyBytes)
            #expect(again.publicKeyBytes == key.publicKeyBytes)
            #expect(SigningKey.verify(signature: try again.sign(data), data: data, publicKey: key.publicKeyBytes, algorithm: algorithm))
        }
        #expect(try SigningKey.generate(.rsa).bits == 2048)
        #expect(throws: CryptoError.self) { try SigningKey.generate(.rsa, rsaBits: 1024) }
    }

    @Test("PEM keys load; a 1024-bit RSA key is refused (RFC 8301)")
    func pem() throws {
        let dir = NSTemporaryDirectory() + "sx-crypto-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func openssl(_ args: [String]) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = args
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
        }
        try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", dir + "/rsa.pem"])
        try openssl(["genpkey", "-algorithm", "ED25519", "-out", dir + "/ed.pem"])
        try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", dir + "/small.pem"])
        let rsa = try SigningKey(pem: String(contentsOfFile: dir + "/rsa.pem", encoding: .utf8))
        #expect(rsa.algorithm == .rsa && rsa.bits == 2048)
        let ed = try SigningKey(pem: String(contentsOfFile: dir + "/ed.pem", encoding: .utf8))
        #expect(ed.algorithm == .ed25519 && ed.publicKeyBytes.count == 32)
        #expect(throws: CryptoError.self) { try SigningKey(pem: String(contentsOfFile: dir + "/small.pem", encoding: .utf8)) }
        #expect(throws: CryptoError.self) { try SigningKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") }
    }
}
