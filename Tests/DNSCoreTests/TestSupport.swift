@testable import DNSCore

func name(_ text: String) -> DNSName { try! DNSName(text) }
func ip(_ text: String) -> [UInt8] { DNSIPAddress.parse(text)! }

/// Two regions (eu: 192.0.2.0/24, us: 198.51.100.0/24 and 2001:db8:1::/48), three nodes.
func sampleZone(healthy: [String: Bool] = [:]) -> DNSResponder.Zone {
    let nodes = [
        DNSResponder.Zone.Node(id: "n1", name: name("n1.relay.example"), ipv4: [ip("10.0.0.1")], ipv6: [ip("fd00::1")],
                               region: "eu", healthy: healthy["n1"] ?? true),
        DNSResponder.Zone.Node(id: "n2", name: name("n2.relay.example"), ipv4: [ip("10.0.0.2")],
                               region: "eu", healthy: healthy["n2"] ?? true),
        DNSResponder.Zone.Node(id: "n3", name: name("n3.relay.example"), ipv4: [ip("10.0.0.3")], ipv6: [ip("fd00::3")],
                               region: "us", healthy: healthy["n3"] ?? true),
    ]
    return DNSResponder.Zone(
        origin: name("relay.example"), ingressName: name("smtp.relay.example"), ttl: 60,
        soa: .init(serial: 7, minimum: 30), nodes: nodes,
        regions: [
            .init(cidr: "192.0.2.0/24", region: "eu")!,
            .init(cidr: "198.51.100.0/24", region: "us")!,
            .init(cidr: "2001:db8:1::/48", region: "us")!,
        ],
        txt: [name("relay.example"): ["v=spf1 a:smtp.relay.example -all"],
              name("_dmarc.relay.example"): ["v=DMARC1; p=reject"]])
}

func query(_ qname: String, _ type: DNSRecordType, id: UInt16 = 0x1234, edns: DNSMessage.EDNS? = nil,
           rd: Bool = true, dnsClass: DNSClass = .in) -> [UInt8] {
    DNSMessage(id: id, recursionDesired: rd, questions: [.init(name: name(qname), type: type, dnsClass: dnsClass)],
               edns: edns).encoded()
}

extension DNSResponder {
    /// Responds and decodes; fails the test on a nil or undecodable reply.
    func reply(_ bytes: [UInt8], transport: Transport = .udp, client: String = "203.0.113.9") throws -> DNSMessage {
        guard let out = respond(to: bytes, transport: transport, client: ip(client)) else {
            throw DNSError(.truncated, "no reply")
        }
        return try DNSMessage(decoding: out)
    }
}

func addresses(_ records: [DNSRecord]) -> Set<String> {
    Set(records.compactMap { r -> String? in
        switch r.data {
        case .a(let b), .aaaa(let b): DNSIPAddress.format(b)
        default: nil
        }
    })
}
