/// The stored form of an outbox call: a compact binary record instead of JSON, because every
/// recorded event writes one call per endpoint inside the accept transaction, and the dispatcher
/// reads, leases and finishes each one again (Foundation's JSON coders cost tens of µs a record).
///
/// Layout: `0xB1 | version 1 | fields` (version 2: then `1 | batch id | batch size` for a call put
/// in a batch; written only by batched claims, which need log entry format 4) with big-endian integers and u32-length-prefixed byte
/// runs. The first byte can never start a JSON record (`{`), so `RegistryRecord(decoding:)` still
/// reads calls stored as JSON by older builds. Pure; any thread.
extension WebhookCall {
    /// First byte of a binary call record.
    public static let binaryMagic: UInt8 = 0xB1
    static let binaryVersion: UInt8 = 1
    /// The version of a record with a batch.
    static let batchedVersion: UInt8 = 2

    /// The binary record. Deterministic: the same call gives the same bytes on every node.
    public func binaryEncoded() -> [UInt8] {
        var w = CallWriter(capacity: 96 + payload.utf8.count + (eventRecord?.count ?? 0) + history.count * 64)
        w.u8(Self.binaryMagic)
        w.u8(batch == nil ? Self.binaryVersion : Self.batchedVersion)
        w.string(endpoint)
        w.u64(sequence)
        w.string(webhookID)
        w.string(eventType)
        w.i64(createdAt)
        w.string(payload)
        if let eventRecord {
            w.u8(1)
            w.blob(eventRecord)
        } else {
            w.u8(0)
        }
        let statusCode: UInt8 = switch status {
        case .pending: 0
        case .delivered: 1
        case .failed: 2
        }
        w.u8(statusCode)
        w.u32(attempts)
        w.i64(nextAttemptAt)
        w.callTail(lease: lease, history: history, batch: batch)
        return w.bytes
    }

    /// The status of the binary call record `bytes`, read by skipping the fields before it (no
    /// decoding, no copy: the spool's tally asks it of every call it retires); nil when `bytes`
    /// is not a binary call record or is truncated before the status. Pure; any thread.
    public static func binaryStatus(_ bytes: UnsafeRawBufferPointer) -> Status? {
        guard bytes.count >= 2, bytes[0] == binaryMagic, bytes[1] == binaryVersion || bytes[1] == batchedVersion else { return nil }
        var at = 2
        func skipRun() -> Bool {
            guard bytes.count - at >= 4 else { return false }
            let n = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            guard bytes.count - at - 4 >= n else { return false }
            at += 4 + n
            return true
        }
        func skip(_ n: Int) -> Bool {
            guard bytes.count - at >= n else { return false }
            at += n
            return true
        }
        // endpoint, sequence, webhookID, eventType, createdAt, payload, [eventRecord]
        guard skipRun(), skip(8), skipRun(), skipRun(), skip(8), skipRun(), bytes.count > at else { return nil }
        let hasRecord = bytes[at]
        at += 1
        if hasRecord == 1 { guard skipRun() else { return nil } }
        guard bytes.count > at else { return nil }
        return switch bytes[at] {
        case 0: .pending
        case 1: .delivered
        case 2: .failed
        default: nil
        }
    }

    /// Decodes `binaryEncoded()`'s bytes; throws `WebhookCallDecodingError` on malformed input.
    public init(binary bytes: some Collection<UInt8>) throws {
        // A record read from the store is decoded where it lies (no copy of it first).
        if let raw = bytes as? UnsafeRawBufferPointer {
            try self.init(reader: CallReader(raw))
        } else {
            try self.init(reader: CallReader(Array(bytes)))
        }
    }

    /// Decodes what `reader` reads (an array, or the store's bytes in place).
    private init<B>(reader: CallReader<B>) throws {
        var r = reader
        guard try r.u8() == Self.binaryMagic else { throw WebhookCallDecodingError(reason: "not a binary call record") }
        let version = try r.u8()
        guard version == Self.binaryVersion || version == Self.batchedVersion else {
            throw WebhookCallDecodingError(reason: "call record version \(version)")
        }
        self.init(endpoint: try r.string(), sequence: try r.u64(), webhookID: try r.string(), eventType: try r.string(),
                  createdAt: try r.i64(), payload: try r.string())
        if try r.u8() == 1 { eventRecord = try r.blob() }
        status = switch try r.u8() {
        case 0: .pending
        case 1: .delivered
        case 2: .failed
        case let s: throw WebhookCallDecodingError(reason: "call status \(s)")
        }
        attempts = try r.u32()
        nextAttemptAt = try r.i64()
        if try r.u8() == 1 {
            lease = try r.leaseFields()
        }
        let n = try r.u32()
        guard n <= 1024 else { throw WebhookCallDecodingError(reason: "\(n) attempts") }
        for _ in 0..<n { history.append(try r.attempt()) }
        if version == Self.batchedVersion, try r.u8() == 1 {
            batch = Batch(id: try r.string(), size: try r.u32())
        }
        guard r.atEnd else { throw WebhookCallDecodingError(reason: "trailing bytes") }
    }
}

/// A binary call record that does not decode.
public struct WebhookCallDecodingError: Error, Sendable, Equatable {
    public var reason: String
}

/// Appends big-endian integers and length-prefixed runs. Pure value; not shared.
struct CallWriter {
    var bytes: [UInt8]

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { blob($0) }
    }

    mutating func blob(_ b: some Collection<UInt8>) {
        u32(UInt32(b.count))
        bytes.append(contentsOf: b)
    }
}

/// Reads what `CallWriter` wrote; throws at the end of the input. Reads an array, or bytes in
/// place (then valid only while they are). Pure value; not shared.
struct CallReader<Bytes: RandomAccessCollection<UInt8>> where Bytes.Index == Int {
    let bytes: Bytes
    var at: Int

    init(_ bytes: Bytes) {
        self.bytes = bytes
        at = bytes.startIndex
    }

    var atEnd: Bool { at == bytes.endIndex }

    private mutating func take(_ n: Int) throws -> Bytes.SubSequence {
        try need(n)
        defer { at += n }
        return bytes[at..<(at + n)]
    }

    private func need(_ n: Int) throws {
        guard n >= 0, bytes.endIndex - at >= n else { throw WebhookCallDecodingError(reason: "truncated call record") }
    }

    // Integers read in place (no slice per field: every outbox record read goes through here).
    mutating func u8() throws -> UInt8 {
        try need(1)
        defer { at += 1 }
        return bytes[at]
    }
    mutating func u32() throws -> UInt32 {
        try need(4)
        var v: UInt32 = 0
        for i in at..<(at + 4) { v = v << 8 | UInt32(bytes[i]) }
        at += 4
        return v
    }
    mutating func u64() throws -> UInt64 {
        try need(8)
        var v: UInt64 = 0
        for i in at..<(at + 8) { v = v << 8 | UInt64(bytes[i]) }
        at += 8
        return v
    }
    mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }
    mutating func blob() throws -> [UInt8] { Array(try take(Int(try u32()))) }
    /// A count of elements of at least `minBytesEach` bytes, refused when the rest cannot hold them.
    mutating func count(minBytesEach: Int) throws -> Int {
        let n = Int(try u32())
        guard n <= (bytes.endIndex - at) / max(1, minBytesEach) else { throw WebhookCallDecodingError(reason: "count \(n) past the end") }
        return n
    }
    mutating func string() throws -> String { String(decoding: try take(Int(try u32())), as: UTF8.self) }
}
