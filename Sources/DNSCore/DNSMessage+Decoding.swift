extension DNSMessage {
    /// Decodes a complete DNS message (UDP payload, or a TCP message without its length prefix).
    ///
    /// Throws `DNSError` for truncated packets, bad compression pointers (forward, out of range,
    /// looping), reserved label types, names over 255 bytes, RDATA that does not match its length
    /// or layout, misplaced/duplicate OPT records and trailing bytes. Pure; any thread; never traps
    /// on any input.
    public init(decoding bytes: [UInt8]) throws {
        var r = DNSWireReader(bytes)
        let id = try r.u16()
        let flags = try r.u16()
        let qd = Int(try r.u16()), an = Int(try r.u16()), ns = Int(try r.u16()), ar = Int(try r.u16())
        // Every question needs ≥ 5 bytes and every record ≥ 11: reject absurd counts before allocating.
        guard qd * 5 + (an + ns + ar) * 11 <= r.remaining else {
            throw DNSError(.truncated, "section counts exceed the packet size", offset: 4)
        }
        self.init(id: id)
        isResponse = flags & 0x8000 != 0
        opcode = Opcode(rawValue: UInt8((flags >> 11) & 0x0F))
        isAuthoritative = flags & 0x0400 != 0
        isTruncated = flags & 0x0200 != 0
        recursionDesired = flags & 0x0100 != 0
        recursionAvailable = flags & 0x0080 != 0
        authenticData = flags & 0x0020 != 0
        checkingDisabled = flags & 0x0010 != 0
        var rcodeBits = flags & 0x000F

        questions.reserveCapacity(qd)
        for _ in 0..<qd {
            let name = try r.name()
            let type = DNSRecordType(rawValue: try r.u16())
            let cls = DNSClass(rawValue: try r.u16())
            questions.append(Question(name: name, type: type, dnsClass: cls))
        }
        for section in 0..<3 {
            let count = section == 0 ? an : (section == 1 ? ns : ar)
            for _ in 0..<count {
                let start = r.offset
                let name = try r.name()
                let type = DNSRecordType(rawValue: try r.u16())
                let cls = try r.u16()
                let ttl = try r.u32()
                let rdLength = Int(try r.u16())
                guard rdLength <= r.remaining else { throw DNSError(.truncated, "RDATA runs past the packet", offset: r.offset) }
                if type == .opt {
                    guard section == 2 else { throw DNSError(.badOPT, "OPT outside the additional section", offset: start) }
                    guard edns == nil else { throw DNSError(.badOPT, "more than one OPT record", offset: start) }
                    guard name.isRoot else { throw DNSError(.badOPT, "OPT owner is not the root", offset: start) }
                    let end = r.offset + rdLength
                    var options: [EDNS.Option] = []
                    while r.offset < end {
                        let code = try r.u16()
                        let length = Int(try r.u16())
                        guard r.offset + length <= end else { throw DNSError(.badOPT, "EDNS option runs past OPT RDATA", offset: r.offset) }
                        options.append(EDNS.Option(code: code, data: try r.take(length)))
                    }
                    rcodeBits |= UInt16(ttl >> 24) << 4
                    edns = EDNS(udpPayloadSize: cls, version: UInt8((ttl >> 16) & 0xFF),
                                dnssecOK: ttl & 0x8000 != 0, options: options)
                    continue
                }
                let data = try DNSMessage.decodeRData(type: type, length: rdLength, reader: &r)
                let record = DNSRecord(name: name, dnsClass: DNSClass(rawValue: cls), ttl: ttl, data: data)
                switch section {
                case 0: answers.append(record)
                case 1: authorities.append(record)
                default: additionals.append(record)
                }
            }
        }
        guard r.remaining == 0 else { throw DNSError(.trailingBytes, "\(r.remaining) bytes after the last record", offset: r.offset) }
        rcode = RCode(rawValue: rcodeBits)
    }

    static func decodeRData(type: DNSRecordType, length: Int, reader r: inout DNSWireReader) throws -> DNSRecord.RData {
        let start = r.offset
        let end = start + length
        let data: DNSRecord.RData
        switch type {
        case .a:
            guard length == 4 else { throw DNSError(.badRData, "A RDATA must be 4 bytes", offset: start) }
            data = .a(try r.take(4))
        case .aaaa:
            guard length == 16 else { throw DNSError(.badRData, "AAAA RDATA must be 16 bytes", offset: start) }
            data = .aaaa(try r.take(16))
        case .ns: data = .ns(try r.name())
        case .cname: data = .cname(try r.name())
        case .ptr: data = .ptr(try r.name())
        case .mx:
            let preference = try r.u16()
            data = .mx(preference: preference, exchange: try r.name())
        case .txt:
            var strings: [[UInt8]] = []
            while r.offset < end {
                let l = Int(try r.u8())
                guard r.offset + l <= end else { throw DNSError(.badRData, "TXT string runs past RDATA", offset: r.offset) }
                strings.append(try r.take(l))
            }
            // Empty RDATA is malformed (RFC 1035 3.3.14: one or more strings); read it as the one empty
            // string the encoder writes for it, so decoding and encoding agree (found by FuzzDNS).
            data = .txt(strings.isEmpty ? [[]] : strings)
        case .soa:
            let mname = try r.name()
            let rname = try r.name()
            data = .soa(DNSRecord.SOA(primaryNameServer: mname, responsibleMailbox: rname, serial: try r.u32(),
                                      refresh: try r.u32(), retry: try r.u32(), expire: try r.u32(), minimum: try r.u32()))
        default:
            data = .unknown(type: type, data: try r.take(length))
        }
        guard r.offset == end else { throw DNSError(.badRData, "\(type) RDATA length \(length) does not match its content", offset: start) }
        return data
    }
}
