import Testing
@testable import DNSCore

@Suite("Authoritative responder")
struct DNSResponderTests {
    let responder = DNSResponder(zone: sampleZone())

    @Test("apex SOA is authoritative, echoes ID and RD, and leaves RA clear")
    func soa() throws {
        let r = try responder.reply(query("relay.example", .soa, id: 0xABCD, rd: true))
        #expect(r.id == 0xABCD && r.isResponse && r.isAuthoritative && r.recursionDesired && !r.recursionAvailable)
        #expect(r.rcode == .noError)
        guard case .soa(let soa) = r.answers.first?.data else { Issue.record("no SOA"); return }
        #expect(soa.serial == 7 && soa.minimum == 30)
        #expect(soa.primaryNameServer == name("n1.relay.example"))
        #expect(soa.responsibleMailbox == name("hostmaster.relay.example"))
        #expect(r.answers[0].ttl == 60)
        let noRD = try responder.reply(query("relay.example", .soa, rd: false))
        #expect(!noRD.recursionDesired)
    }

    @Test("apex NS lists every node name, with node addresses as glue")
    func ns() throws {
        let r = try responder.reply(query("relay.example", .ns))
        let hosts = Set(r.answers.compactMap { if case .ns(let n) = $0.data { n.description } else { nil } })
        #expect(hosts == ["n1.relay.example", "n2.relay.example", "n3.relay.example"])
        #expect(addresses(r.additionals) == ["10.0.0.1", "10.0.0.2", "10.0.0.3", "fd00::1", "fd00::3"])
    }

    @Test("apex MX points at the ingress name with its addresses as additional data")
    func mx() throws {
        let r = try responder.reply(query("relay.example", .mx), client: "192.0.2.10")
        #expect(r.answers.count == 1)
        #expect(r.answers.first?.data == .mx(preference: 10, exchange: name("smtp.relay.example")))
        #expect(addresses(r.additionals) == ["10.0.0.1", "10.0.0.2", "fd00::1"])
    }

    @Test("TXT records are served at their names")
    func txt() throws {
        let r = try responder.reply(query("_DMARC.relay.example", .txt))
        #expect(r.answers.first?.data == .txt([Array("v=DMARC1; p=reject".utf8)]))
        let apex = try responder.reply(query("relay.example", .txt))
        #expect(apex.answers.count == 1)
    }

    @Test("long TXT strings are split into 255-byte character strings")
    func longTXT() throws {
        var zone = sampleZone()
        zone.txt[name("k._domainkey.relay.example")] = [String(repeating: "x", count: 600)]
        let r = try DNSResponder(zone: zone).reply(query("k._domainkey.relay.example", .txt), transport: .tcp)
        guard case .txt(let strings) = r.answers.first?.data else { Issue.record("no TXT"); return }
        #expect(strings.map(\.count) == [255, 255, 90])
    }

    @Test("each node's own name answers its addresses even when unhealthy")
    func nodeNames() throws {
        let r = try DNSResponder(zone: sampleZone(healthy: ["n1": false])).reply(query("n1.relay.example", .a))
        #expect(addresses(r.answers) == ["10.0.0.1"])
        let v6 = try responder.reply(query("n3.relay.example", .aaaa))
        #expect(addresses(v6.answers) == ["fd00::3"])
    }

    @Test("a resolver inside a region gets only that region's healthy nodes")
    func regionalByResolverAddress() throws {
        let eu = try responder.reply(query("smtp.relay.example", .a), client: "192.0.2.53")
        #expect(addresses(eu.answers) == ["10.0.0.1", "10.0.0.2"])
        let us = try responder.reply(query("smtp.relay.example", .a), client: "198.51.100.53")
        #expect(addresses(us.answers) == ["10.0.0.3"])
        let usV6 = try responder.reply(query("smtp.relay.example", .aaaa), client: "2001:db8:1::53")
        #expect(addresses(usV6.answers) == ["fd00::3"])
        let mapped = try responder.reply(query("smtp.relay.example", .a), client: "::ffff:198.51.100.7")
        #expect(addresses(mapped.answers) == ["10.0.0.3"])
    }

    @Test("a client outside every region gets every healthy node")
    func unknownRegion() throws {
        let r = try DNSResponder(zone: sampleZone(healthy: ["n2": false])).reply(query("smtp.relay.example", .a), client: "203.0.113.1")
        #expect(addresses(r.answers) == ["10.0.0.1", "10.0.0.3"])
    }

    @Test("unhealthy nodes are left out, and a region with no healthy node falls back to all healthy nodes")
    func healthFallback() throws {
        let one = try DNSResponder(zone: sampleZone(healthy: ["n1": false])).reply(query("smtp.relay.example", .a), client: "192.0.2.5")
        #expect(addresses(one.answers) == ["10.0.0.2"])
        let none = try DNSResponder(zone: sampleZone(healthy: ["n1": false, "n2": false])).reply(query("smtp.relay.example", .a), client: "192.0.2.5")
        #expect(addresses(none.answers) == ["10.0.0.3"])
    }

    @Test("with no healthy node the ingress name answers NODATA with the short negative TTL")
    func noHealthyNode() throws {
        let r = try DNSResponder(zone: sampleZone(healthy: ["n1": false, "n2": false, "n3": false]))
            .reply(query("smtp.relay.example", .a))
        #expect(r.rcode == .noError && r.answers.isEmpty && r.isAuthoritative)
        #expect(r.authorities.first?.type == .soa && r.authorities.first?.ttl == 30)
    }

    @Test("the client subnet option selects the region and is echoed with the scope prefix")
    func ecs() throws {
        let ecs = DNSMessage.ClientSubnet(address: ip("198.51.100.0"), sourcePrefixLength: 24)
        let r = try responder.reply(query("smtp.relay.example", .a, edns: .init(options: [ecs.option])), client: "192.0.2.1")
        #expect(addresses(r.answers) == ["10.0.0.3"])
        let echoed = try r.edns?.clientSubnet()
        #expect(echoed?.sourcePrefixLength == 24 && echoed?.scopePrefixLength == 24 && echoed?.address == ip("198.51.100.0"))
        // No region matches: everything healthy, scope = source prefix.
        let other = DNSMessage.ClientSubnet(address: ip("203.0.113.0"), sourcePrefixLength: 24)
        let r2 = try responder.reply(query("smtp.relay.example", .a, edns: .init(options: [other.option])), client: "192.0.2.1")
        #expect(addresses(r2.answers) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"])
        #expect(try r2.edns?.clientSubnet()?.scopePrefixLength == 24)
        // A non-routed name: scope 0.
        let r3 = try responder.reply(query("relay.example", .soa, edns: .init(options: [ecs.option])))
        #expect(try r3.edns?.clientSubnet()?.scopePrefixLength == 0)
    }

    @Test("a client subnet with source prefix 0 is not routed by the resolver address")
    func ecsZeroPrefix() throws {
        let ecs = DNSMessage.ClientSubnet(address: [0, 0, 0, 0], sourcePrefixLength: 0)
        let r = try responder.reply(query("smtp.relay.example", .a, edns: .init(options: [ecs.option])), client: "192.0.2.1")
        #expect(addresses(r.answers) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"])
        #expect(try r.edns?.clientSubnet()?.scopePrefixLength == 0)
    }

    @Test("a malformed client subnet option or a non-zero query scope gets FORMERR")
    func ecsMalformed() throws {
        let bad = DNSMessage.EDNS.Option(code: 8, data: [0, 1, 24, 0, 192])
        #expect(try responder.reply(query("smtp.relay.example", .a, edns: .init(options: [bad]))).rcode == .formatError)
        let scoped = DNSMessage.ClientSubnet(address: ip("192.0.2.0"), sourcePrefixLength: 24, scopePrefixLength: 24)
        #expect(try responder.reply(query("smtp.relay.example", .a, edns: .init(options: [scoped.option]))).rcode == .formatError)
    }

    @Test("a missing name below the zone is NXDOMAIN with the SOA and negative TTL min(minimum, ttl)")
    func nxdomain() throws {
        let r = try responder.reply(query("nope.relay.example", .a))
        #expect(r.rcode == .nameError && r.isAuthoritative && r.answers.isEmpty)
        #expect(r.authorities.count == 1 && r.authorities[0].type == .soa && r.authorities[0].ttl == 30)
        var zone = sampleZone()
        zone.soa.minimum = 3600
        let r2 = try DNSResponder(zone: zone).reply(query("nope.relay.example", .a))
        #expect(r2.authorities[0].ttl == 60)
    }

    @Test("an existing name without the asked type is NODATA, including empty non-terminals")
    func nodata() throws {
        let r = try responder.reply(query("n2.relay.example", .aaaa))
        #expect(r.rcode == .noError && r.answers.isEmpty && r.authorities.first?.type == .soa)
        var zone = sampleZone()
        zone.txt[name("a.b.c.relay.example")] = ["x"]
        let ent = try DNSResponder(zone: zone).reply(query("b.c.relay.example", .a))
        #expect(ent.rcode == .noError && ent.answers.isEmpty)
        let mxAtIngress = try responder.reply(query("smtp.relay.example", .mx))
        #expect(mxAtIngress.rcode == .noError && mxAtIngress.answers.isEmpty)
    }

    @Test("names outside the zone are REFUSED without AA")
    func outsideZone() throws {
        for q in ["example.com", "example", "xrelay.example", "."] {
            let r = try responder.reply(query(q, .a))
            #expect(r.rcode == .refused && !r.isAuthoritative && r.answers.isEmpty)
        }
    }

    @Test("CHAOS class and zone transfers are REFUSED")
    func refusedKinds() throws {
        #expect(try responder.reply(query("relay.example", .txt, dnsClass: .chaos)).rcode == .refused)
        #expect(try responder.reply(query("relay.example", .axfr), transport: .tcp).rcode == .refused)
    }

    @Test("names match case-insensitively and the question keeps the query's case")
    func caseHandling() throws {
        let bytes = query("SmTp.ReLaY.eXaMpLe", .a)
        let r = try responder.reply(bytes, client: "192.0.2.1")
        #expect(r.questions[0].name.description == "SmTp.ReLaY.eXaMpLe")
        #expect(addresses(r.answers) == ["10.0.0.1", "10.0.0.2"])
        let out = responder.respond(to: bytes, transport: .udp, client: ip("192.0.2.1"))!
        #expect(out[12..<(12 + 20)] == bytes[12..<(12 + 20)])
    }

    @Test("an undecodable query gets a header-only FORMERR echoing the ID")
    func formerr() throws {
        var bytes = query("relay.example", .a, id: 0x4242)
        bytes.removeLast(3)
        let out = responder.respond(to: bytes, transport: .udp, client: ip("192.0.2.1"))!
        let r = try DNSMessage(decoding: out)
        #expect(r.id == 0x4242 && r.rcode == .formatError && r.isResponse && r.recursionDesired)
    }

    @Test("a query with two questions or none is FORMERR")
    func questionCount() throws {
        let two = DNSMessage(id: 5, questions: [.init(name: name("relay.example"), type: .a), .init(name: name("relay.example"), type: .mx)])
        #expect(try responder.reply(two.encoded()).rcode == .formatError)
        let none = DNSMessage(id: 6)
        #expect(try responder.reply(none.encoded()).rcode == .formatError)
    }

    @Test("a runt packet with a readable ID gets FORMERR; one without, and responses, are dropped")
    func dropped() throws {
        #expect(responder.respond(to: [1], transport: .udp, client: ip("192.0.2.1")) == nil)
        let runt = try DNSMessage(decoding: responder.respond(to: [0x12, 0x34, 0x01], transport: .udp, client: ip("192.0.2.1"))!)
        #expect(runt.id == 0x1234 && runt.rcode == .formatError && runt.recursionDesired && runt.isResponse)
        let idOnly = try DNSMessage(decoding: responder.respond(to: [0xAB, 0xCD], transport: .udp, client: ip("192.0.2.1"))!)
        #expect(idOnly.id == 0xABCD && idOnly.rcode == .formatError)
        var response = query("relay.example", .a)
        response[2] |= 0x80
        #expect(responder.respond(to: response, transport: .udp, client: ip("192.0.2.1")) == nil)
    }

    @Test("opcodes other than QUERY get NOTIMP")
    func notimp() throws {
        var m = DNSMessage(id: 7, opcode: .update, questions: [.init(name: name("relay.example"), type: .soa)])
        #expect(try responder.reply(m.encoded()).rcode == .notImplemented)
        m.opcode = .status
        #expect(try responder.reply(m.encoded()).rcode == .notImplemented)
    }

    @Test("EDNS is echoed with payload 1232 and the DO bit copied")
    func ednsEcho() throws {
        let r = try responder.reply(query("relay.example", .soa, edns: .init(udpPayloadSize: 4096, dnssecOK: true)))
        #expect(r.edns?.udpPayloadSize == 1232 && r.edns?.version == 0 && r.edns?.dnssecOK == true)
        let plain = try responder.reply(query("relay.example", .soa))
        #expect(plain.edns == nil)
    }

    @Test("EDNS version 1 gets BADVERS (extended rcode 16)")
    func badvers() throws {
        let out = responder.respond(to: query("relay.example", .soa, edns: .init(version: 1)), transport: .udp, client: ip("192.0.2.1"))!
        #expect(out[3] & 0x0F == 0)
        let r = try DNSMessage(decoding: out)
        #expect(r.rcode == .badVersion && r.edns?.version == 0 && r.answers.isEmpty)
    }

    static func bigZone(nodes: Int) -> DNSResponder.Zone {
        var zone = sampleZone()
        zone.regions = []
        zone.nodes = (0..<nodes).map { i in
            DNSResponder.Zone.Node(id: "b\(i)", name: name("b\(i).relay.example"), ipv4: [[10, 1, UInt8(i / 256), UInt8(i % 256)]],
                                   ipv6: [ip("fd00::\(String(i, radix: 16))")])
        }
        return zone
    }

    @Test("without EDNS a UDP answer over 512 bytes is truncated with TC; TCP gets it all")
    func tcBit() throws {
        let responder = DNSResponder(zone: Self.bigZone(nodes: 100))
        let udpBytes = responder.respond(to: query("smtp.relay.example", .a), transport: .udp, client: ip("192.0.2.1"))!
        #expect(udpBytes.count <= 512)
        let udp = try DNSMessage(decoding: udpBytes)
        #expect(udp.isTruncated && udp.answers.count < 100)
        let tcp = try responder.reply(query("smtp.relay.example", .a), transport: .tcp)
        #expect(!tcp.isTruncated && tcp.answers.count == 100)
    }

    @Test("EDNS payload size is honoured and capped at 1232")
    func ednsSize() throws {
        let responder = DNSResponder(zone: Self.bigZone(nodes: 100))
        let big = responder.respond(to: query("smtp.relay.example", .aaaa, edns: .init(udpPayloadSize: 65000)), transport: .udp, client: ip("192.0.2.1"))!
        #expect(big.count <= 1232 && big.count > 1000)
        #expect(try DNSMessage(decoding: big).isTruncated)
        let small = responder.respond(to: query("smtp.relay.example", .a, edns: .init(udpPayloadSize: 100)), transport: .udp, client: ip("192.0.2.1"))!
        #expect(small.count <= 512 && small.count > 400)
        let fits = try DNSResponder(zone: Self.bigZone(nodes: 60)).reply(query("smtp.relay.example", .a, edns: .init(udpPayloadSize: 1232)))
        #expect(!fits.isTruncated && fits.answers.count == 60 && fits.edns != nil)
    }

    @Test("ANY gets one synthesized HINFO \"RFC8482\" \"\" record over UDP and TCP (RFC 8482), not every RRset")
    func any() throws {
        let hinfo: [UInt8] = [7] + Array("RFC8482".utf8) + [0]
        for transport in [DNSResponder.Transport.udp, .tcp] {
            for qname in ["relay.example", "RELAY.example", "smtp.relay.example", "n1.relay.example"] {
                let r = try responder.reply(query(qname, .any, edns: .init()), transport: transport)
                #expect(r.rcode == .noError && r.isAuthoritative && !r.isTruncated)
                #expect(r.answers == [DNSRecord(name: name(qname), ttl: 60, data: .unknown(type: .hinfo, data: hinfo))])
                #expect(r.answers.first?.name.description == name(qname).description)
                #expect(r.authorities.isEmpty && r.additionals.isEmpty)
            }
        }
        // Names without data keep their negative answers; outside the zone stays REFUSED.
        #expect(try responder.reply(query("nope.relay.example", .any)).rcode == .nameError)
        var zone = sampleZone()
        zone.txt[name("a.b.relay.example")] = ["x"]
        let nodata = try DNSResponder(zone: zone).reply(query("b.relay.example", .any))  // empty non-terminal
        #expect(nodata.rcode == .noError && nodata.answers.isEmpty && nodata.authorities.first?.type == .soa)
        #expect(try responder.reply(query("example.org", .any)).rcode == .refused)
        // Other types are still answered in full.
        #expect(try responder.reply(query("relay.example", .ns)).answers.count == 3)
    }

    @Test("updating the zone changes the answer: a new responder per zone version")
    func zoneSwap() throws {
        var zone = sampleZone()
        zone.nodes.append(.init(id: "n4", name: name("n4.relay.example"), ipv4: [ip("10.0.0.4")], region: "ap"))
        let r = try DNSResponder(zone: zone).reply(query("smtp.relay.example", .a))
        #expect(addresses(r.answers).contains("10.0.0.4"))
        let ns = try DNSResponder(zone: zone).reply(query("relay.example", .ns))
        #expect(ns.answers.count == 4)
    }
}

@Suite("Zone construction from config text")
struct DNSZoneBuildingTests {
    @Test("nodes and regions build from address and CIDR strings, and bad text is explained")
    func fromText() throws {
        let node = try DNSResponder.Zone.Node(id: "n1", name: "n1.relay.example", addresses: ["10.0.0.1", "fd00::1"], region: "eu")
        #expect(node.ipv4 == [[10, 0, 0, 1]] && node.ipv6.count == 1 && node.name == name("n1.relay.example"))
        #expect(throws: DNSError.self) { try DNSResponder.Zone.Node(id: "n1", name: "n1.relay.example", addresses: ["n1.example"]) }
        let regions = try DNSResponder.Zone.Region.list(from: ["us": ["198.51.100.0/24"], "eu": ["192.0.2.0/24", "2001:db8::/32"]])
        #expect(regions.map(\.region) == ["eu", "eu", "us"] && regions[0].prefixLength == 24 && regions[1].prefixLength == 32)
        do {
            _ = try DNSResponder.Zone.Region.list(from: ["eu": ["192.0.2.0/40"]])
            Issue.record("bad prefix accepted")
        } catch let e as DNSError {
            #expect(e.code == .invalidText && e.reason.contains("192.0.2.0/40"))
        }
        let zone = try DNSResponder.Zone(origin: "relay.example", ingressName: "smtp.relay.example", nodes: [node], regions: regions)
        #expect(zone.ttl == 60 && zone.negativeTTL == 60)
    }
}
