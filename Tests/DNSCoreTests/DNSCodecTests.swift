import Testing
@testable import DNSCore

@Suite("DNS wire codec")
struct DNSCodecTests {
    static func fullMessage() -> DNSMessage {
        let soa = DNSRecord.SOA(primaryNameServer: name("ns1.example.com"), responsibleMailbox: name("hostmaster.example.com"),
                                serial: 2024, refresh: 1, retry: 2, expire: 3, minimum: 4)
        return DNSMessage(
            id: 0xBEEF, isResponse: true, opcode: .query, isAuthoritative: true, recursionDesired: true,
            authenticData: false, checkingDisabled: true, rcode: .badVersion,
            questions: [.init(name: name("Example.com"), type: .mx)],
            answers: [
                DNSRecord(name: name("example.com"), ttl: 300, data: .mx(preference: 10, exchange: name("mx1.example.com"))),
                DNSRecord(name: name("example.com"), ttl: 300, data: .mx(preference: 20, exchange: name("mx2.example.com"))),
                DNSRecord(name: name("www.example.com"), ttl: 5, data: .cname(name("example.com"))),
                DNSRecord(name: name("example.com"), ttl: 5, data: .txt([Array("hello".utf8), [], Array("world".utf8)])),
                DNSRecord(name: name("1.2.0.192.in-addr.arpa"), ttl: 5, data: .ptr(name("host.example.com"))),
                DNSRecord(name: name("example.com"), ttl: 5, data: .unknown(type: DNSRecordType(rawValue: 99), data: [1, 2, 3])),
            ],
            authorities: [
                DNSRecord(name: name("example.com"), ttl: 60, data: .soa(soa)),
                DNSRecord(name: name("example.com"), ttl: 60, data: .ns(name("ns1.example.com"))),
            ],
            additionals: [
                DNSRecord(name: name("mx1.example.com"), ttl: 60, data: .a([192, 0, 2, 1])),
                DNSRecord(name: name("mx1.example.com"), ttl: 60, data: .aaaa(ip("2001:db8::1"))),
            ],
            edns: DNSMessage.EDNS(udpPayloadSize: 4096, version: 0, dnssecOK: true,
                                  options: [DNSMessage.ClientSubnet(address: ip("192.0.2.77"), sourcePrefixLength: 24).option,
                                            .init(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])]))
    }

    @Test("a message with every record type survives encode then decode unchanged")
    func roundTrip() throws {
        let message = Self.fullMessage()
        let bytes = message.encoded()
        let decoded = try DNSMessage(decoding: bytes)
        #expect(decoded == message)
        #expect(decoded.rcode == .badVersion)
        #expect(decoded.encoded() == bytes)
    }

    @Test("repeated names are compressed into pointers")
    func compression() {
        let message = Self.fullMessage()
        let bytes = message.encoded().map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        // "example" appears in many names but is written once in full.
        let needle = Array("\u{7}example".utf8)
        var hits = 0
        for i in 0...(bytes.count - needle.count) where Array(bytes[i..<(i + needle.count)]) == needle { hits += 1 }
        #expect(hits == 1)
    }

    @Test("compression ignores case when matching suffixes but keeps the first spelling")
    func compressionCase() throws {
        let m = DNSMessage(id: 1, questions: [.init(name: name("A.EXAMPLE"), type: .a)],
                           answers: [DNSRecord(name: name("a.example"), ttl: 1, data: .a([1, 2, 3, 4]))])
        let bytes = m.encoded()
        #expect(bytes.count == 12 + 15 + (2 + 10 + 4))
        let decoded = try DNSMessage(decoding: bytes)
        #expect(decoded.answers[0].name.description == "A.EXAMPLE")
    }

    @Test("a forward compression pointer is rejected")
    func forwardPointer() {
        // Header with one question whose name is a pointer to offset 20 (after itself).
        var bytes: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        bytes += [0xC0, 20, 0, 1, 0, 1]
        bytes += [1, 0x61, 0]
        #expect(throws: DNSError.self) { try DNSMessage(decoding: bytes) }
        do { _ = try DNSMessage(decoding: bytes) } catch let e as DNSError { #expect(e.code == .badPointer) } catch {}
    }

    @Test("a pointer to itself and a two-pointer loop are rejected")
    func pointerLoops() {
        let selfLoop: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1]
        #expect(throws: DNSError.self) { try DNSMessage(decoding: selfLoop) }
        // Label at 12, pointer at 14 back to 12: label + pointer + label ... would loop.
        let labelLoop: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0xC0, 12, 0, 1, 0, 1]
        #expect(throws: DNSError.self) { try DNSMessage(decoding: labelLoop) }
    }

    @Test("an out-of-range pointer, a reserved label type and truncated packets are rejected")
    func malformed() {
        let outOfRange: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 1, 0, 1]
        #expect(throws: DNSError.self) { try DNSMessage(decoding: outOfRange) }
        let reserved: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 0, 0, 1, 0, 1]
        #expect(throws: DNSError.self) { try DNSMessage(decoding: reserved) }
        let good = query("mail.example.com", .mx)
        for cut in 0..<good.count {
            #expect(throws: DNSError.self) { try DNSMessage(decoding: Array(good[0..<cut])) }
        }
        #expect(throws: DNSError.self) { try DNSMessage(decoding: good + [0]) }
    }

    @Test("a name longer than 255 bytes built from pointers is rejected")
    func longNameViaPointers() {
        // Answer records whose owners each prepend a 63-byte label to the previous owner via a pointer.
        func packet(records: Int) -> [UInt8] {
            var bytes: [UInt8] = [0, 1, 0x80, 0, 0, 0, 0, UInt8(records), 0, 0, 0, 0]
            var previous = -1
            for _ in 0..<records {
                let start = bytes.count
                bytes.append(63)
                bytes += [UInt8](repeating: 0x61, count: 63)
                if previous < 0 { bytes.append(0) } else { bytes += [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF)] }
                previous = start
                bytes += [0, 99, 0, 1, 0, 0, 0, 1, 0, 0] // TYPE99 IN TTL 1 RDLENGTH 0
            }
            return bytes
        }
        #expect((try? DNSMessage(decoding: packet(records: 3))) != nil)
        do {
            _ = try DNSMessage(decoding: packet(records: 4))
            Issue.record("4 × 64-byte labels decoded")
        } catch let e as DNSError {
            #expect(e.code == .nameTooLong)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("RDATA whose length disagrees with its content is rejected")
    func badRData() {
        var m = DNSMessage(id: 9, isResponse: true, answers: [DNSRecord(name: name("a"), ttl: 1, data: .a([1, 2, 3, 4]))])
        var bytes = m.encoded()
        bytes[bytes.count - 5] = 5 // RDLENGTH low byte: 4 → 5
        bytes.append(0)
        #expect(throws: DNSError.self) { try DNSMessage(decoding: bytes) }
        m.answers = [DNSRecord(name: name("a"), ttl: 1, data: .mx(preference: 1, exchange: name("b")))]
        bytes = m.encoded()
        let rdlengthAt = 12 + 3 + 8
        bytes[rdlengthAt + 1] += 1
        bytes.append(0)
        #expect(throws: DNSError.self) { try DNSMessage(decoding: bytes) }
    }

    @Test("two OPT records, or an OPT in the answer section, are rejected")
    func badOPT() {
        let m = DNSMessage(id: 1, questions: [.init(name: name("a"), type: .a)], edns: .init())
        var bytes = m.encoded()
        let opt = Array(bytes[(bytes.count - 11)...])
        bytes += opt
        bytes[11] = 2
        #expect(throws: DNSError.self) { try DNSMessage(decoding: bytes) }
        var inAnswer = m.encoded()
        inAnswer[7] = 1; inAnswer[11] = 0
        #expect(throws: DNSError.self) { try DNSMessage(decoding: inAnswer) }
    }

    @Test("encoding with a size limit drops answers at record boundaries and sets TC")
    func truncation() throws {
        var m = DNSMessage(id: 3, isResponse: true, questions: [.init(name: name("big.example"), type: .txt)])
        for i in 0..<20 {
            m.answers.append(DNSRecord(name: name("big.example"), ttl: 1, data: .txt([[UInt8](repeating: UInt8(65 + i), count: 100)])))
        }
        let (bytes, truncated) = m.encoded(limit: 512)
        #expect(truncated)
        #expect(bytes.count <= 512)
        let decoded = try DNSMessage(decoding: bytes)
        #expect(decoded.isTruncated)
        #expect(decoded.answers.count == 4)
        #expect(decoded.answers == Array(m.answers.prefix(4)))
        let (full, notTruncated) = m.encoded(limit: 65535)
        #expect(!notTruncated)
        #expect(try DNSMessage(decoding: full).answers.count == 20)
    }

    @Test("additional records that do not fit are dropped without TC")
    func additionalDrop() throws {
        var m = DNSMessage(id: 3, isResponse: true, questions: [.init(name: name("x.example"), type: .mx)],
                           answers: [DNSRecord(name: name("x.example"), ttl: 1, data: .mx(preference: 1, exchange: name("m.x.example")))],
                           edns: .init())
        for i in 0..<60 { m.additionals.append(DNSRecord(name: name("m.x.example"), ttl: 1, data: .a([10, 0, 0, UInt8(i)]))) }
        let (bytes, truncated) = m.encoded(limit: 512)
        #expect(!truncated)
        #expect(bytes.count <= 512)
        let decoded = try DNSMessage(decoding: bytes)
        #expect(!decoded.isTruncated && decoded.answers.count == 1 && decoded.edns != nil)
        #expect(decoded.additionals.count > 0 && decoded.additionals.count < 60)
    }

    @Test("client subnet options decode, mask and reject malformed values")
    func clientSubnet() throws {
        let ecs = DNSMessage.ClientSubnet(address: ip("192.0.2.77"), sourcePrefixLength: 24)
        #expect(ecs.optionData == [0, 1, 24, 0, 192, 0, 2])
        let back = try DNSMessage.ClientSubnet(optionData: ecs.optionData)
        #expect(back.address == [192, 0, 2, 0] && back.sourcePrefixLength == 24)
        let v6 = DNSMessage.ClientSubnet(address: ip("2001:db8:1:2::1"), sourcePrefixLength: 56)
        #expect(v6.optionData.count == 4 + 7)
        #expect(try DNSMessage.ClientSubnet(optionData: v6.optionData) == v6)
        // Wrong address length, bits past the prefix, bad family, prefix too long.
        #expect(throws: DNSError.self) { try DNSMessage.ClientSubnet(optionData: [0, 1, 24, 0, 192, 0]) }
        #expect(throws: DNSError.self) { try DNSMessage.ClientSubnet(optionData: [0, 1, 23, 0, 192, 0, 3]) }
        #expect(throws: DNSError.self) { try DNSMessage.ClientSubnet(optionData: [0, 3, 0, 0]) }
        #expect(throws: DNSError.self) { try DNSMessage.ClientSubnet(optionData: [0, 1, 33, 0, 1, 2, 3, 4, 5]) }
        #expect(try DNSMessage.ClientSubnet(optionData: [0, 1, 0, 0]).sourcePrefixLength == 0)
    }
}
