extension DNSMessage {
    /// Encodes the whole message with name compression. Pure; any thread.
    public func encoded() -> [UInt8] {
        encoded(limit: Int.max).bytes
    }

    /// Encodes at most `limit` bytes (e.g. the UDP payload size), always keeping the header,
    /// the question and the OPT record.
    ///
    /// Records are cut at record boundaries: when an answer or authority record does not fit,
    /// it and everything after it is dropped and TC is set (`truncated == true`); when only
    /// additional records do not fit, they are dropped without TC (RFC 2181 §9). Pure; any thread.
    public func encoded(limit: Int) -> (bytes: [UInt8], truncated: Bool) {
        var w = DNSWireWriter(capacity: min(limit, 512))
        w.u16(id)
        var flags: UInt16 = 0
        if isResponse { flags |= 0x8000 }
        flags |= UInt16(opcode.rawValue & 0x0F) << 11
        if isAuthoritative { flags |= 0x0400 }
        if isTruncated { flags |= 0x0200 }
        if recursionDesired { flags |= 0x0100 }
        if recursionAvailable { flags |= 0x0080 }
        if authenticData { flags |= 0x0020 }
        if checkingDisabled { flags |= 0x0010 }
        flags |= rcode.rawValue & 0x000F
        w.u16(flags)
        w.u16(UInt16(truncatingIfNeeded: questions.count))
        w.u16(0); w.u16(0); w.u16(0)
        for q in questions {
            w.name(q.name)
            w.u16(q.type.rawValue)
            w.u16(q.dnsClass.rawValue)
        }
        let budget = limit == Int.max ? Int.max : limit - (edns?.encodedSize ?? 0)
        var counts = [0, 0, 0]
        var truncated = false
        sections: for (index, section) in [answers, authorities, additionals].enumerated() {
            for record in section {
                let before = w.bytes.count
                DNSMessage.write(record, to: &w)
                if w.bytes.count > budget || counts[index] == 0xFFFF {
                    w.truncate(to: before)
                    if index < 2 { truncated = true }
                    break sections
                }
                counts[index] += 1
            }
        }
        var additionalCount = counts[2]
        if let edns {
            w.u8(0)
            w.u16(DNSRecordType.opt.rawValue)
            w.u16(edns.udpPayloadSize)
            var ttl = UInt32((rcode.rawValue >> 4) & 0xFF) << 24 | UInt32(edns.version) << 16
            if edns.dnssecOK { ttl |= 0x8000 }
            w.u32(ttl)
            let lengthAt = w.bytes.count
            w.u16(0)
            for option in edns.options {
                w.u16(option.code)
                w.u16(UInt16(truncatingIfNeeded: option.data.count))
                w.bytes.append(contentsOf: option.data)
            }
            w.patch16(at: lengthAt, UInt16(truncatingIfNeeded: w.bytes.count - lengthAt - 2))
            additionalCount += 1
        }
        if truncated { w.bytes[2] |= 0x02 }
        w.patch16(at: 6, UInt16(counts[0]))
        w.patch16(at: 8, UInt16(counts[1]))
        w.patch16(at: 10, UInt16(additionalCount))
        return (w.bytes, truncated)
    }

    static func write(_ record: DNSRecord, to w: inout DNSWireWriter) {
        w.name(record.name)
        w.u16(record.type.rawValue)
        w.u16(record.dnsClass.rawValue)
        w.u32(record.ttl)
        let lengthAt = w.bytes.count
        w.u16(0)
        switch record.data {
        case .a(let bytes), .aaaa(let bytes):
            w.bytes.append(contentsOf: bytes)
        case .ns(let name), .cname(let name), .ptr(let name):
            w.name(name)
        case .mx(let preference, let exchange):
            w.u16(preference)
            w.name(exchange)
        case .txt(let strings):
            if strings.isEmpty { w.u8(0) }
            for s in strings {
                let chunk = s.prefix(255)
                w.u8(UInt8(chunk.count))
                w.bytes.append(contentsOf: chunk)
            }
        case .soa(let soa):
            w.name(soa.primaryNameServer)
            w.name(soa.responsibleMailbox)
            w.u32(soa.serial); w.u32(soa.refresh); w.u32(soa.retry); w.u32(soa.expire); w.u32(soa.minimum)
        case .unknown(_, let data):
            w.bytes.append(contentsOf: data)
        }
        w.patch16(at: lengthAt, UInt16(truncatingIfNeeded: w.bytes.count - lengthAt - 2))
    }
}
