/// The stored form of an endpoint record: a compact binary record instead of JSON, because every
/// webhook results command rewrites its endpoint (last success, failures in a row) and every
/// lease and dispatcher round reads it again (Foundation's JSON coders cost tens of µs a record;
/// they were the largest webhook item left in a profile of the relay bench).
///
/// Layout: `0xB3 | version 1 | fields` (version 2: then `batchMaxEvents` as u32, for an endpoint
/// that sets it), big-endian integers and u32-length-prefixed strings (as
/// `WebhookCall+Codec`). The first byte can never start a JSON record (`{`), so
/// `RegistryRecord(decoding:)` still reads endpoints stored as JSON by older builds. Pure; any thread.
extension WebhookEndpoint {
    /// First byte of a binary endpoint record.
    public static let binaryMagic: UInt8 = 0xB3
    static let binaryVersion: UInt8 = 1
    /// The version of a record with its own `batchMaxEvents`.
    static let batchVersion: UInt8 = 2

    /// The binary record. Deterministic: the same endpoint gives the same bytes on every node.
    public func binaryEncoded() -> [UInt8] {
        var w = CallWriter(capacity: 160 + url.utf8.count + secrets.count * 100 + events.count * 24 + statusReason.utf8.count)
        w.u8(Self.binaryMagic)
        w.u8(batchMaxEvents == nil ? Self.binaryVersion : Self.batchVersion)
        w.string(id)
        w.string(tenant)
        w.string(url)
        w.u32(UInt32(events.count))
        for e in events { w.string(e) }
        w.u32(UInt32(secrets.count))
        for s in secrets {
            w.string(s.value)
            w.optional(s.expiresAt)
        }
        w.i64(Int64(maxConcurrency))
        w.i64(Int64(ratePerSecond))
        w.u8((paused ? 1 : 0) | (disabled ? 2 : 0) | (failing ? 4 : 0))
        w.string(statusReason)
        w.i64(createdAt)
        w.i64(updatedAt)
        w.i64(Int64(consecutiveFailures))
        w.optional(lastSuccessAt)
        w.optional(lastFailureAt)
        if let batchMaxEvents { w.u32(UInt32(clamping: batchMaxEvents)) }
        return w.bytes
    }

    /// Decodes `binaryEncoded()`'s bytes; throws `WebhookCallDecodingError` on malformed input.
    public init(binary bytes: some Collection<UInt8>) throws {
        var r = CallReader(Array(bytes))
        guard try r.u8() == Self.binaryMagic else { throw WebhookCallDecodingError(reason: "not a binary endpoint record") }
        let version = try r.u8()
        guard version == Self.binaryVersion || version == Self.batchVersion else {
            throw WebhookCallDecodingError(reason: "endpoint record version \(version)")
        }
        let id = try r.string(), tenant = try r.string(), url = try r.string()
        var events: [String] = []
        for _ in 0..<(try r.count(minBytesEach: 4)) { events.append(try r.string()) }
        var secrets: [Secret] = []
        for _ in 0..<(try r.count(minBytesEach: 5)) { secrets.append(Secret(value: try r.string(), expiresAt: try r.optional())) }
        self.init(id: id, tenant: tenant, url: url, events: events, secret: "", maxConcurrency: Int(try r.i64()),
                  ratePerSecond: Int(try r.i64()), createdAt: 0)
        self.secrets = secrets
        let flags = try r.u8()
        guard flags & ~7 == 0 else { throw WebhookCallDecodingError(reason: "endpoint flags \(flags)") }
        paused = flags & 1 != 0
        disabled = flags & 2 != 0
        failing = flags & 4 != 0
        statusReason = try r.string()
        createdAt = try r.i64()
        updatedAt = try r.i64()
        consecutiveFailures = Int(try r.i64())
        lastSuccessAt = try r.optional()
        lastFailureAt = try r.optional()
        if version == Self.batchVersion { batchMaxEvents = Int(try r.u32()) }
        guard r.atEnd else { throw WebhookCallDecodingError(reason: "trailing bytes") }
    }
}

extension CallWriter {
    /// A presence byte, then the value when present.
    mutating func optional(_ v: Int64?) {
        if let v {
            u8(1)
            i64(v)
        } else {
            u8(0)
        }
    }
}

extension CallReader {
    /// What `CallWriter.optional` wrote.
    mutating func optional() throws -> Int64? {
        switch try u8() {
        case 0: return nil
        case 1: return try i64()
        case let b: throw WebhookCallDecodingError(reason: "presence byte \(b)")
        }
    }
}
