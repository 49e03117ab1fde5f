import Testing
@testable import SendarixSupport

@Suite("SplitMix64 seeded generator")
struct SplitMix64Tests {
    @Test("seed 0 yields the published SplitMix64 reference outputs")
    func referenceVector() {
        var rng = SplitMix64(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(rng.next() == 0x06C4_5D18_8009_454F)
    }

    @Test("the same seed repeats the sequence and init(state:) equals init(seed:)")
    func deterministic() {
        var a = SplitMix64(seed: 99), b = SplitMix64(state: 99), c = SplitMix64(seed: 100)
        let xs = (0..<16).map { _ in a.next() }
        #expect(xs == (0..<16).map { _ in b.next() })
        #expect(xs != (0..<16).map { _ in c.next() })
    }
}
