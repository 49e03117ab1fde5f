/// The stored forms of a batch record (`WebhookBatch`) and of an endpoint's batch mark: compact
/// binary records like the calls' (`WebhookCall+Codec`). Written only by log entry format 5.
///
/// Layouts: batch `0xB4 | version 1 | endpoint | count, sequences | id | array | attempts |
/// nextAttemptAt | lease? | history`; mark `0xB5 | version 1 | sequence`. Big-endian integers and
/// u32-length-prefixed strings. Pure; any thread.
extension WebhookBatch {
    /// First byte of a batch record.
    public static let binaryMagic: UInt8 = 0xB4
    /// First byte of a batch mark record (`RegistryKeys.webhookMark`).
    public static let markMagic: UInt8 = 0xB5
    static let binaryVersion: UInt8 = 1

    /// The binary record. Deterministic: the same batch gives the same bytes on every node.
    public func binaryEncoded() -> [UInt8] {
        var w = CallWriter(capacity: 64 + endpoint.utf8.count + id.utf8.count + sequences.count * 8 + history.count * 64)
        w.u8(Self.binaryMagic)
        w.u8(Self.binaryVersion)
        w.string(endpoint)
        w.u32(UInt32(sequences.count))
        for s in sequences { w.u64(s) }
        w.string(id)
        w.u8(array ? 1 : 0)
        w.u32(attempts)
        w.i64(nextAttemptAt)
        w.lease(lease)
        w.u32(UInt32(history.count))
        for a in history { w.attempt(a) }
        return w.bytes
    }

    /// Decodes `binaryEncoded()`'s bytes; throws `WebhookCallDecodingError` on malformed input.
    public init(binary bytes: some Collection<UInt8>) throws {
        var r = CallReader(Array(bytes))
        guard try r.u8() == Self.binaryMagic else { throw WebhookCallDecodingError(reason: "not a batch record") }
        let version = try r.u8()
        guard version == Self.binaryVersion else { throw WebhookCallDecodingError(reason: "batch record version \(version)") }
        let endpoint = try r.string()
        let n = try r.count(minBytesEach: 8)
        var sequences: [UInt64] = []
        sequences.reserveCapacity(n)
        for _ in 0..<n { sequences.append(try r.u64()) }
        let id = try r.string()
        let array = try r.u8()
        guard array <= 1 else { throw WebhookCallDecodingError(reason: "batch body flag \(array)") }
        self.init(endpoint: endpoint, sequences: sequences, id: id, array: array == 1, nextAttemptAt: 0)
        attempts = try r.u32()
        nextAttemptAt = try r.i64()
        switch try r.u8() {
        case 0: break
        case 1: lease = try r.leaseFields()
        case let b: throw WebhookCallDecodingError(reason: "lease presence byte \(b)")
        }
        for _ in 0..<(try r.count(minBytesEach: 36)) { history.append(try r.attempt()) }
        guard r.atEnd else { throw WebhookCallDecodingError(reason: "trailing bytes") }
    }

    /// The record of a batch mark at `sequence`.
    public static func markEncoded(_ sequence: UInt64) -> [UInt8] {
        var w = CallWriter(capacity: 10)
        w.u8(markMagic)
        w.u8(binaryVersion)
        w.u64(sequence)
        return w.bytes
    }

    /// Decodes `markEncoded`'s bytes.
    public static func mark(binary bytes: some Collection<UInt8>) throws -> UInt64 {
        var r = CallReader(Array(bytes))
        guard try r.u8() == markMagic, try r.u8() == binaryVersion else { throw WebhookCallDecodingError(reason: "not a batch mark") }
        let s = try r.u64()
        guard r.atEnd else { throw WebhookCallDecodingError(reason: "trailing bytes") }
        return s
    }
}
