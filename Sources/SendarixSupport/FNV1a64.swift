/// 64-bit FNV-1a (Fowler–Noll–Vo): a fast, non-cryptographic hash whose value is the same on every
/// build, platform and node, unlike Swift's seeded `Hasher`. For values that are stored or
/// compared between nodes (raft ids, rendezvous owners, batch ids, key prefixes) and for
/// in-memory tables and version tags; never where an attacker's choice of input matters. Pure;
/// any thread.
public struct FNV1a64: Sendable, Equatable {
    /// The offset basis: the hash of no bytes.
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    /// The 64-bit FNV prime.
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    /// The hash of the bytes added so far.
    public var value: UInt64

    /// A hash of no bytes yet, or one that continues from `value`.
    @inlinable
    public init(value: UInt64 = FNV1a64.offsetBasis) {
        self.value = value
    }

    /// Adds one byte.
    @inlinable
    public mutating func add(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* Self.prime
    }

    /// Adds `bytes` in order.
    @inlinable
    public mutating func add<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        for b in bytes { add(b) }
    }

    /// The hash of `bytes`.
    @inlinable
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        var h = FNV1a64()
        h.add(bytes)
        return h.value
    }
}
