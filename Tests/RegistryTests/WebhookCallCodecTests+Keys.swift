import Testing
@testable import Registry

extension WebhookCallCodecTests {
    @Test("Outbox keys end in the sequence as twenty digits, zero-padded, so key order is event order")
    func keysPadSequences() {
        #expect(RegistryKeys.webhookPending("ep_a", 0) == "hookcall/ep_a/00000000000000000000")
        #expect(RegistryKeys.webhookPending("ep_a", 42) == "hookcall/ep_a/00000000000000000042")
        #expect(RegistryKeys.webhookDone("ep_a", (7 << 16) | 3) == "hookdone/ep_a/00000000000000458755")
        #expect(RegistryKeys.webhookBatch("ep_a", UInt64.max) == "hookbatch/ep_a/18446744073709551615")
        let keys = [UInt64(9), 10, 99, 100, 1 << 40].map { RegistryKeys.webhookPending("e", $0) }
        #expect(keys == keys.sorted())
        // Written in one string: the same text as the parts joined, for any endpoint id.
        for id in ["", "e", "wh_0123456789abcdef0123456789", "é✓"] {
            for n in [UInt64(0), 7, 1 << 63, .max] {
                let digits = String(repeating: "0", count: 20 - String(n).count) + String(n)
                #expect(RegistryKeys.webhookPending(id, n) == "hookcall/" + id + "/" + digits)
                #expect(RegistryKeys.webhookDone(id, n) == "hookdone/" + id + "/" + digits)
                #expect(RegistryKeys.webhookBatch(id, n) == "hookbatch/" + id + "/" + digits)
            }
        }
    }
}
