import DNSCore

/// Fuzz target for the DNS wire codec and the authoritative responder: the input is a DNS message as
/// received on UDP or TCP. Pure.
///
/// Invariants: a decoded message re-encodes and decodes to the same message; the responder answers every
/// query (or stays silent for responses) with a message that decodes, carries the query's ID, fits the
/// transport's size limit (or the query's own size), and is marked as a response; slip replies likewise.
public enum DNSFuzzer {
    static let responder: DNSResponder = {
        // Force-unwraps are safe: the zone is a constant known to be valid.
        let nodes = [
            try! DNSResponder.Zone.Node(id: "n1", name: "n1.mx.example.test", addresses: ["192.0.2.1", "2001:db8::1"], region: "eu"),
            try! DNSResponder.Zone.Node(id: "n2", name: "n2.mx.example.test", addresses: ["192.0.2.2"], region: "us"),
            try! DNSResponder.Zone.Node(id: "n3", name: "n3.mx.example.test", addresses: ["2001:db8::3"], region: "us", healthy: false),
        ]
        let regions = [DNSResponder.Zone.Region(cidr: "192.0.2.0/25", region: "eu")!,
                       DNSResponder.Zone.Region(cidr: "2001:db8::/32", region: "us")!]
        let zone = try! DNSResponder.Zone(origin: "mx.example.test", ingressName: "in.mx.example.test", nodes: nodes,
                                          regions: regions)
        return DNSResponder(zone: zone)
    }()

    /// Runs one input; traps on a broken invariant.
    public static func run(_ data: [UInt8]) {
        if let message = try? DNSMessage(decoding: data) {
            let encoded = message.encoded()
            let again = try? DNSMessage(decoding: encoded)
            precondition(again == message, """
                DNS message does not survive an encode/decode round trip:
                  decoded:    \(message)
                  re-decoded: \(again.map { "\($0)" } ?? "error")
                """)
        }
        let clients: [[UInt8]] = [[192, 0, 2, 9], [198, 51, 100, 1], [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [5]]
        let client = clients[data.count % clients.count]
        for transport in [DNSResponder.Transport.udp, .tcp] {
            guard let reply = responder.respond(to: data, transport: transport, client: client) else { continue }
            precondition(reply.count >= 12 && reply[0] == data[0] && reply[1] == data[1], "reply lacks the query ID")
            precondition(reply[2] & 0x80 != 0, "reply not marked as a response")
            // The question is always echoed, so a reply may exceed the UDP limit by what the query itself
            // carried, but never amplify beyond that.
            let limit = transport == .udp ? max(DNSResponder.maximumUDPPayload, data.count + 11) : 65535
            precondition(reply.count <= limit, "reply too large: \(reply.count) bytes for a \(data.count)-byte query")
            if reply.count > 12 {
                precondition((try? DNSMessage(decoding: reply)) != nil, "responder produced an undecodable reply")
            }
        }
        if let slip = responder.slipResponse(to: data) {
            // At most 512 bytes, unless the echoed question alone is larger (found by this target; the slip
            // is then still no larger than the query plus an 11-byte OPT record: no amplification).
            precondition(slip.count <= max(512, data.count + 11) && slip[2] & 0x82 == 0x82,
                         "slip reply not a small truncated response: \(slip.count) bytes, flags \(slip[2]) for a \(data.count)-byte query")
        }
    }
}
