import Testing
@testable import DNSCore
import SendarixSupport

@Suite("Random and mutated packets")
struct DNSFuzzTests {
    static let responder = DNSResponder(zone: sampleZone())

    static func check(_ packet: [UInt8], transport: DNSResponder.Transport) {
        let decoded = try? DNSMessage(decoding: packet)
        if let decoded {
            // Whatever decodes must re-encode and decode to the same value.
            #expect((try? DNSMessage(decoding: decoded.encoded())) == decoded)
        }
        guard let out = responder.respond(to: packet, transport: transport, client: [192, 0, 2, 1]) else {
            #expect(packet.count < 2 || (packet.count >= 3 && packet[2] & 0x80 != 0))
            return
        }
        #expect(out.count <= (transport == .udp ? 1232 : 65535))
        guard let reply = try? DNSMessage(decoding: out) else {
            Issue.record("undecodable reply to \(packet)")
            return
        }
        #expect(reply.isResponse && reply.id == UInt16(packet[0]) << 8 | UInt16(packet[1]))
        if decoded == nil { #expect(reply.rcode == .formatError || reply.rcode == .notImplemented) }
    }

    @Test("thousands of random packets never crash the decoder or responder")
    func randomPackets() {
        var rng = SplitMix64(seed: 0xD15EA5E)
        for _ in 0..<5000 {
            let length = Int.random(in: 0..<200, using: &rng)
            var packet = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if packet.count > 5 && Bool.random(using: &rng) {
                packet[2] &= 0x7F // mostly queries
                packet[4] = 0; packet[5] = 1
            }
            Self.check(packet, transport: Bool.random(using: &rng) ? .udp : .tcp)
        }
    }

    @Test("thousands of mutated valid queries get FORMERR or a valid answer")
    func mutatedQueries() {
        var rng = SplitMix64(seed: 42)
        let seeds: [[UInt8]] = [
            query("smtp.relay.example", .a, edns: .init(options: [DNSMessage.ClientSubnet(address: [198, 51, 100, 0], sourcePrefixLength: 24).option])),
            query("relay.example", .mx),
            query("relay.example", .any, edns: .init(udpPayloadSize: 4096)),
            query("nope.relay.example", .txt),
            DNSCodecTests.fullMessage().encoded(),
        ]
        for i in 0..<6000 {
            var packet = seeds[i % seeds.count]
            let mutations = Int.random(in: 1...4, using: &rng)
            for _ in 0..<mutations {
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: packet[Int.random(in: 0..<packet.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                case 1: packet[Int.random(in: 0..<packet.count, using: &rng)] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
                case 2: packet.removeLast(Int.random(in: 0...min(8, packet.count - 13), using: &rng))
                case 3: packet.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 12...packet.count, using: &rng))
                default: packet[Int.random(in: 12..<packet.count, using: &rng)] = [0xC0, 0x3F, 0x40, 0x00, 0xFF].randomElement(using: &rng)!
                }
            }
            packet[2] &= 0x7F
            Self.check(packet, transport: i % 2 == 0 ? .udp : .tcp)
        }
    }
}
