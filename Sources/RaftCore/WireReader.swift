/// Reads the primitives written by `WireWriter`, throwing `Raft.Error(.decodeFailed)` on
/// truncated or malformed input. Plain value over a slice; does not block.
public struct WireReader {
    private let buf: ArraySlice<UInt8>
    private var pos: Int

    /// Creates a reader over `bytes`.
    public init(_ bytes: ArraySlice<UInt8>) {
        buf = bytes
        pos = bytes.startIndex
    }

    /// True when every byte was consumed.
    public var isAtEnd: Bool { pos == buf.endIndex }

    /// Reads one byte.
    public mutating func byte() throws(Raft.Error) -> UInt8 {
        guard pos < buf.endIndex else { throw Raft.Error(.decodeFailed, "truncated input") }
        defer { pos += 1 }
        return buf[pos]
    }

    /// Reads an unsigned LEB128 varint (at most 10 bytes).
    public mutating func varint() throws(Raft.Error) -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            if shift == 63 && b > 1 { throw Raft.Error(.decodeFailed, "varint overflows 64 bits") }
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
            if shift > 63 { throw Raft.Error(.decodeFailed, "varint too long") }
        }
    }

    /// Reads 8 bytes little-endian.
    public mutating func fixed64() throws(Raft.Error) -> UInt64 {
        guard buf.endIndex - pos >= 8 else { throw Raft.Error(.decodeFailed, "truncated input") }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(buf[pos + i]) << (8 * UInt64(i)) }
        pos += 8
        return v
    }

    /// Reads a varint length and that many bytes.
    public mutating func lengthPrefixed() throws(Raft.Error) -> [UInt8] {
        let n = try varint()
        guard n <= UInt64(buf.endIndex - pos) else { throw Raft.Error(.decodeFailed, "length \(n) exceeds input") }
        let out = Array(buf[pos..<(pos + Int(n))])
        pos += Int(n)
        return out
    }
}
