import Dispatch
import Synchronization
import SendarixSupport
import Testing
@testable import SendarixCrypto

/// The reusable HMAC key gives the one-shot `Digest.hmacSHA256` codes, message after message.
@Suite("HMAC-SHA256 key")
struct HMACSHA256KeyTests {
    static let keys: [[UInt8]] = [
        [], [0x0b], Array("Jefe".utf8), [UInt8](repeating: 0xaa, count: 63), (0..<64).map { UInt8($0) },
        (0..<65).map { UInt8($0) }, [UInt8](repeating: 0xaa, count: 131), Digest.randomBytes(32),
    ]
    static let messages: [[UInt8]] = [
        [], [0], Array("what do ya want for nothing?".utf8), [UInt8](repeating: 0xdd, count: 50),
        (0..<64).map { UInt8($0) }, (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }, Digest.randomBytes(4099),
    ]

    @Test("matches Digest.hmacSHA256 for empty, short, 64-byte and longer keys and messages, reused many times")
    func matchesOneShot() {
        for k in Self.keys {
            let key = HMACSHA256Key(key: k)
            // Twice over: the context is reset between messages, not consumed by the first.
            for _ in 0..<2 {
                for m in Self.messages {
                    #expect(key.authenticationCode(m) == Digest.hmacSHA256(key: k, m), "key \(k.count) message \(m.count)")
                    for cut in Set([0, m.count / 2, m.count]) {
                        #expect(key.authenticationCode(m[..<cut], m[cut...]) == Digest.hmacSHA256(key: k, m),
                                "key \(k.count) message \(m.count) cut \(cut)")
                    }
                }
            }
        }
    }

    @Test("RFC 4231 test cases 2 and 6 (a 131-byte key) and the Standard Webhooks test vector")
    func vectors() throws {
        #expect(HMACSHA256Key(key: Array("Jefe".utf8)).authenticationCode(Array("what do ya want for nothing?".utf8))
                == SigningKeyTests.hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))
        #expect(HMACSHA256Key(key: [UInt8](repeating: 0xaa, count: 131))
                    .authenticationCode(Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
                == SigningKeyTests.hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"))
        let key = try #require(Base64Codec.decodeStrict(Array("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".utf8)))
        let code = HMACSHA256Key(key: key).authenticationCode(Array("msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.".utf8),
                                                               Array("{\"test\": 2432232314}".utf8))
        #expect(String(decoding: Base64Codec.encode(code), as: UTF8.self) == "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test("one key used from several threads at once gives each message its own code")
    func concurrentUse() {
        let k = Digest.randomBytes(32)
        let key = HMACSHA256Key(key: k)
        let expected = Self.messages.map { Digest.hmacSHA256(key: k, $0) }
        let wrong = Atomic(0)
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for i in 0..<200 {
                let m = (i + t) % Self.messages.count
                if key.authenticationCode(Self.messages[m]) != expected[m] { wrong.add(1, ordering: .relaxed) }
            }
        }
        #expect(wrong.load(ordering: .relaxed) == 0)
    }
}
