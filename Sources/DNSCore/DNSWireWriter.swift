/// Appends DNS wire data to a byte buffer, compressing names against earlier ones (RFC 1035 §4.1.4).
/// Internal to the codec; pure.
struct DNSWireWriter {
    var bytes: [UInt8]
    /// Lowercased wire suffixes already written and their offsets. A linear list: responses hold
    /// few distinct suffixes, and scanning beats hashing every byte.
    private var suffixes: [(key: ArraySlice<UInt8>, offset: Int)] = []

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xFF)) }
    mutating func u32(_ v: UInt32) {
        bytes.append(UInt8(v >> 24)); bytes.append(UInt8((v >> 16) & 0xFF))
        bytes.append(UInt8((v >> 8) & 0xFF)); bytes.append(UInt8(v & 0xFF))
    }

    mutating func patch16(at offset: Int, _ v: UInt16) {
        bytes[offset] = UInt8(v >> 8)
        bytes[offset + 1] = UInt8(v & 0xFF)
    }

    /// Writes `name`, replacing its longest already-written suffix with a pointer when `compress`.
    mutating func name(_ name: DNSName, compress: Bool = true) {
        let wire = name.wire
        guard compress, wire.count > 1 else {
            bytes.append(contentsOf: wire)
            return
        }
        let lower = name.hasUppercase ? name.lowercased.wire : wire
        var i = 0
        while lower[i] != 0 {
            let key = lower[i...]
            if let target = offset(of: key) {
                u16(0xC000 | UInt16(target))
                return
            }
            if bytes.count < 0x3FFF { suffixes.append((key, bytes.count)) }
            let len = Int(wire[i])
            bytes.append(contentsOf: wire[i...(i + len)])
            i += 1 + len
        }
        bytes.append(0)
    }

    private func offset(of key: ArraySlice<UInt8>) -> Int? {
        for entry in suffixes where entry.key.count == key.count && entry.key.first == key.first && entry.key.elementsEqual(key) {
            return entry.offset
        }
        return nil
    }

    /// Forgets compression targets at or after `offset` (used after cutting the buffer back).
    mutating func truncate(to offset: Int) {
        bytes.removeSubrange(offset...)
        suffixes.removeAll { $0.offset >= offset }
    }
}
