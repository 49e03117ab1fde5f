/// Appends fixed-width integers, length-prefixed strings and byte runs to a
/// growing `[UInt8]`: the encoding used for log records and stored values.
///
/// Integers are big-endian so that encoded keys sort numerically in LMDB.
/// Pure value type; not shared between threads. Never blocks.
struct BinaryWriter {
    /// The bytes written so far.
    var bytes: [UInt8]

    /// Creates a writer with room for `capacity` bytes.
    init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func u8(_ v: UInt8) { bytes.append(v) }

    mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    mutating func u32(_ v: UInt32) {
        withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }

    mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }

    /// A UTF-8 string with a 32-bit length prefix.
    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            u32(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// A byte run with a 32-bit length prefix.
    mutating func blob<C: Collection>(_ b: C) where C.Element == UInt8 {
        u32(UInt32(b.count))
        bytes.append(contentsOf: b)
    }

    /// Raw bytes without a length prefix (keys).
    mutating func raw<C: Sequence>(_ b: C) where C.Element == UInt8 {
        bytes.append(contentsOf: b)
    }
}
