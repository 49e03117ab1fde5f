/// Reads what ``BinaryWriter`` wrote, from a borrowed raw buffer (for example
/// an LMDB value, read without copying). Every read checks bounds and throws
/// ``StoreError/Code/corrupt`` instead of trapping.
///
/// Must only be used while the buffer it borrows is valid (inside the read
/// transaction or `withUnsafeBytes` closure). Never blocks.
struct BinaryReader {
    let buffer: UnsafeRawBufferPointer
    private(set) var offset: Int = 0
    /// What is being decoded, for error messages.
    let what: String

    init(_ buffer: UnsafeRawBufferPointer, what: String) {
        self.buffer = buffer
        self.what = what
    }

    var remaining: Int { buffer.count - offset }
    var isAtEnd: Bool { offset >= buffer.count }

    private mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= remaining else { throw StoreError.corrupt(what) }
        let slice = UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + n])
        offset += n
        return slice
    }

    mutating func u8() throws -> UInt8 { try take(1)[0] }

    mutating func u16() throws -> UInt16 {
        let b = try take(2)
        return UInt16(b[0]) << 8 | UInt16(b[1])
    }

    mutating func u32() throws -> UInt32 {
        let b = try take(4)
        var v: UInt32 = 0
        for x in b { v = v << 8 | UInt32(x) }
        return v
    }

    mutating func u64() throws -> UInt64 {
        let b = try take(8)
        var v: UInt64 = 0
        for x in b { v = v << 8 | UInt64(x) }
        return v
    }

    mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }

    mutating func bool() throws -> Bool { try u8() != 0 }

    mutating func string() throws -> String {
        String(decoding: try run(), as: UTF8.self)
    }

    /// The bytes of a length-prefixed run (what `string()` and `blob()` decode), borrowed from
    /// the buffer (no copy).
    mutating func run() throws -> UnsafeRawBufferPointer {
        let n = Int(try u32())
        return try take(n)
    }

    mutating func blob() throws -> [UInt8] {
        let n = Int(try u32())
        return Array(try take(n))
    }

    /// Skips a length-prefixed blob, returning its length.
    mutating func skipBlob() throws -> Int {
        let n = Int(try u32())
        _ = try take(n)
        return n
    }

    /// Reads a count and checks that at least `minBytesEach` bytes per element remain,
    /// so a corrupt count cannot trigger a huge allocation.
    mutating func count(minBytesEach: Int) throws -> Int {
        let n = Int(try u32())
        guard n <= remaining / max(minBytesEach, 1) else { throw StoreError.corrupt(what) }
        return n
    }
}
