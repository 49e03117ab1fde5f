import Foundation
import Testing
@testable import RelayConfig
import SendarixSupport

@Suite("Property tests (seeded)")
struct PropertyTests {
    @Test("random IPv6 and IPv4 addresses format canonically and parse back to themselves")
    func addressRoundTrip() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<5000 {
            // Bias towards zero groups so compression paths are exercised.
            var hi: UInt64 = 0, lo: UInt64 = 0
            for k in 0..<4 {
                let g = UInt64(Bool.random(using: &rng) ? 0 : UInt16.random(in: 0...0xffff, using: &rng))
                hi |= g << UInt64(48 - 16 * k)
                let h = UInt64(Bool.random(using: &rng) ? 0 : UInt16.random(in: 0...0xffff, using: &rng))
                lo |= h << UInt64(48 - 16 * k)
            }
            let a = IPAddress.v6(hi, lo)
            #expect(IPAddress(a.description) == a, "\(a)")
            #expect(IPAddress(bytes: a.bytes) == a)
            let v4 = IPAddress.v4(UInt32.random(in: 0...UInt32.max, using: &rng))
            #expect(IPAddress(v4.description) == v4)
        }
    }

    @Test("networks contain exactly the addresses that share their prefix")
    func networkMembership() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<5000 {
            let len = Int.random(in: 0...32, using: &rng)
            let base = UInt32.random(in: 0...UInt32.max, using: &rng)
            let net = IPNetwork(address: .v4(base), prefixLength: len)
            let probe = UInt32.random(in: 0...UInt32.max, using: &rng)
            let mask: UInt32 = len == 0 ? 0 : UInt32.max << UInt32(32 - len)
            #expect(net.contains(.v4(probe)) == ((probe & mask) == (base & mask)))
            #expect(net.contains(.v4(base)))
            #expect(IPNetwork(net.description) == net)
        }
    }

    @Test("mutated config documents either parse or fail with a positioned syntax error, never crash")
    func jsonMutations() throws {
        let url = URL(fileURLWithPath: DeployExamplesTests.examplesDir + "/cluster-n1.json")
        let original = Array(try Data(contentsOf: url))
        var rng = SplitMix64(seed: 99)
        let alphabet = Array("{}[]:,\"\\ 0123456789.eE+-truefalsnul\n\t".utf8) + [0x00, 0xC3, 0xFF]
        for _ in 0..<2000 {
            var doc = original
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let pos = Int.random(in: 0..<doc.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: doc[pos] = alphabet.randomElement(using: &rng)!
                case 1: doc.remove(at: pos)
                default: doc.insert(alphabet.randomElement(using: &rng)!, at: pos)
                }
            }
            do {
                let v = try JSONValue.parse(doc)
                let problems = ConfigProblems()
                _ = RelayConfig.decode(v, problems: problems)
            } catch {
                #expect(error.line >= 1 && error.column >= 1)
            }
        }
    }
}
