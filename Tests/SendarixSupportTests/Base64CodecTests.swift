import Testing
@testable import SendarixSupport

@Suite("Base64Codec (RFC 4648)")
struct Base64CodecTests {
    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test("RFC 4648 §10 test vectors encode and decode both ways")
    func vectors() {
        let pairs = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                     ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        for (plain, coded) in pairs {
            #expect(Base64Codec.encode(b(plain)) == b(coded))
            #expect(Base64Codec.decodeStrict(b(coded)) == b(plain))
            #expect(Base64Codec.decodeLenient(b(coded)) == b(plain))
        }
    }

    @Test("strict decoding refuses whitespace, missing padding, inner padding and foreign bytes")
    func strict() {
        for bad in ["Zm9v\r\n", "Zg", "Zg=a", "Z===", "Zm9v!A==", "Zg==Zg==", "===="] {
            #expect(Base64Codec.decodeStrict(b(bad)) == nil, "\(bad)")
        }
    }

    @Test("lenient decoding skips folding whitespace and missing padding but not data after padding")
    func lenient() {
        #expect(Base64Codec.decodeLenient(b("Zm9v\r\n YmFy")) == b("foobar"))
        #expect(Base64Codec.decodeLenient(b("Zg")) == b("f"))
        #expect(Base64Codec.decodeLenient(b("Zg== \r\n")) == b("f"))
        #expect(Base64Codec.decodeLenient(b("Zg==Zg")) == nil)
        #expect(Base64Codec.decodeLenient(b("Zm9v!")) == nil)
        #expect(Base64Codec.decodeLenient(b("Z===")) == nil)
    }

    @Test("random byte strings round-trip through both decoders")
    func roundTrip() {
        var rng = SplitMix64(seed: 64)
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let coded = Base64Codec.encode(bytes)
            #expect(coded.count == (bytes.count + 2) / 3 * 4)
            #expect(Base64Codec.decodeStrict(coded) == bytes)
            #expect(Base64Codec.decodeLenient(coded) == bytes)
        }
    }
}
