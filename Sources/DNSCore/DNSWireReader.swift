/// Bounds-checked reader over a whole DNS packet, following compression pointers safely.
/// Internal to the codec; pure.
struct DNSWireReader {
    let bytes: [UInt8]
    var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    mutating func u8() throws -> UInt8 {
        guard offset < bytes.count else { throw DNSError(.truncated, "packet ends inside a field", offset: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws -> UInt16 {
        guard offset + 2 <= bytes.count else { throw DNSError(.truncated, "packet ends inside a field", offset: offset) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func u32() throws -> UInt32 {
        guard offset + 4 <= bytes.count else { throw DNSError(.truncated, "packet ends inside a field", offset: offset) }
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    mutating func take(_ count: Int) throws -> [UInt8] {
        guard count >= 0, offset + count <= bytes.count else {
            throw DNSError(.truncated, "packet ends inside a field", offset: offset)
        }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// Reads a possibly compressed name at `offset` and advances past its in-place part.
    ///
    /// Every pointer must point strictly before the start of the label run it ends, so positions
    /// strictly decrease across jumps and loops are impossible; forward and out-of-range pointers
    /// are rejected, as are reserved label types and names over 255 bytes.
    mutating func name() throws -> DNSName {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var pos = offset
        var runStart = offset
        var resume: Int? = nil
        while true {
            guard pos < bytes.count else { throw DNSError(.truncated, "packet ends inside a name", offset: pos) }
            let len = bytes[pos]
            switch len & 0xC0 {
            case 0x00:
                if len == 0 {
                    out.append(0)
                    offset = resume ?? (pos + 1)
                    return DNSName(uncheckedWire: out)
                }
                let l = Int(len)
                guard pos + 1 + l <= bytes.count else { throw DNSError(.truncated, "packet ends inside a label", offset: pos) }
                guard out.count + 1 + l + 1 <= 255 else { throw DNSError(.nameTooLong, "name longer than 255 bytes", offset: pos) }
                out.append(contentsOf: bytes[pos...(pos + l)])
                pos += 1 + l
            case 0xC0:
                guard pos + 1 < bytes.count else { throw DNSError(.truncated, "packet ends inside a pointer", offset: pos) }
                let target = Int(len & 0x3F) << 8 | Int(bytes[pos + 1])
                guard target < runStart else {
                    throw DNSError(.badPointer, "compression pointer to \(target) is not before \(runStart)", offset: pos)
                }
                if resume == nil { resume = pos + 2 }
                pos = target
                runStart = target
            default:
                throw DNSError(.badLabelType, "reserved label type 0x\(String(len, radix: 16))", offset: pos)
            }
        }
    }
}
