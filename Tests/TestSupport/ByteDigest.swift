/// FNV-1a 64 over a sequence of byte arrays, each preceded by its length, so any changed, moved
/// or missing byte changes the value: golden tests pin the output of code that is made faster
/// (a digest captured before the change, compared after). Pure value; any thread.
public struct ByteDigest: Sendable, Equatable {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
    /// Bytes added so far (without the length prefixes).
    public private(set) var bytes = 0

    /// An empty digest. Any thread.
    public init() {}

    /// Adds `data`'s length (8 bytes, little-endian) and then its bytes.
    public mutating func add(_ data: [UInt8]) {
        var n = UInt64(data.count)
        for _ in 0..<8 { mix(UInt8(truncatingIfNeeded: n)); n >>= 8 }
        for b in data { mix(b) }
        bytes += data.count
    }

    private mutating func mix(_ b: UInt8) {
        value ^= UInt64(b)
        value = value &* 0x0000_0100_0000_01B3
    }
}
