import SendarixSupport
import Testing

/// FNV-1a 64 against the published test vectors. Source: Landon Curt Noll's FNV reference
/// (http://www.isthe.com/chongo/tech/comp/fnv/, test_fnv.c, "FNV-1a 64 bit" table).
@Suite("FNV-1a 64")
struct FNV1a64Tests {
    @Test("The hash of the reference strings is the published value")
    func referenceVectors() {
        #expect(FNV1a64.hash([UInt8]()) == 0xcbf2_9ce4_8422_2325)
        #expect(FNV1a64.hash("a".utf8) == 0xaf63_dc4c_8601_ec8c)
        #expect(FNV1a64.hash("foobar".utf8) == 0x8594_4171_f739_67e8)
    }

    @Test("Adding bytes in pieces, or continuing from a value, equals hashing them at once")
    func continuation() {
        let bytes = Array("sendarix/raft-node-7".utf8)
        for cut in 0...bytes.count {
            var h = FNV1a64()
            h.add(bytes[..<cut])
            var rest = FNV1a64(value: h.value)
            for b in bytes[cut...] { rest.add(b) }
            #expect(rest.value == FNV1a64.hash(bytes))
        }
    }
}
