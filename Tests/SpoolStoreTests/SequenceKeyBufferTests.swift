import Registry
import SendarixSupport
import Testing
@testable import SpoolStore

/// `SequenceKeyBuffer` rewrites one call key in place for every call of a batch command; the
/// keys must be the bytes `RegistryKeys` builds.
@Suite("Sequence key buffer")
struct SequenceKeyBufferTests {
    @Test("Seeded random endpoints and sequences (0, 1, UInt64.max, random), heads switched back and forth: every key equals RegistryKeys.webhookPendingKey / webhookDoneKey")
    func sameBytesAsRegistryKeys() {
        var g = SplitMix64(seed: 7)
        for id in ["a", "ep_b", "é-endpoint", String(repeating: "x", count: 64)] {
            var key = SequenceKeyBuffer(head: "hookcall/", endpoint: id)
            var seqs: [UInt64] = [0, 1, 9, 10, UInt64.max, UInt64.max - 1]
            for _ in 0..<200 { seqs.append(UInt64.random(in: 0...UInt64.max, using: &g) >> UInt64.random(in: 0...63, using: &g)) }
            for seq in seqs {
                key.set(seq)
                key.setHead("hookcall/")
                #expect(key.bytes == RegistryKeys.webhookPendingKey(id, seq), "\(id) \(seq)")
                key.setHead("hookdone/")
                #expect(key.bytes == RegistryKeys.webhookDoneKey(id, seq), "\(id) \(seq)")
            }
        }
    }
}
