/// Reading a stored binary call record (`WebhookCall+Codec`) in place: a batch lease needs only a
/// pending call's header fields, and a batch result moves each call to the finished calls with a
/// few fields changed, so neither copies the event bytes into a `WebhookCall` and back. Pure; any
/// thread.
extension WebhookCall {
    /// Where the fields of one binary call record lie (byte offsets into it), found by one walk
    /// that accepts exactly the records `init(binary:)` accepts.
    public struct BinaryLayout: Sendable, Equatable {
        /// The fields from the endpoint to the payload (they follow magic and version): a
        /// finished record repeats them byte for byte.
        public var head: Range<Int>
        /// The length-prefixed string runs in `head` (endpoint, webhook id, event type, payload),
        /// without their length prefixes.
        public var endpoint, webhookID, eventType, payload: Range<Int>
        public var sequence: UInt64
        public var createdAt: Int64
        /// The event record's run, length prefix included; nil when the call holds none.
        public var event: Range<Int>?
        public var status: Status
        public var attempts: UInt32
        /// Offset of the 8 bytes of `nextAttemptAt`.
        public var nextAttemptAtOffset: Int
        public var nextAttemptAt: Int64
        public var lease: Lease?
        public var batch: Batch?
        /// True when the string runs of `head` are valid UTF-8, so that decoding and encoding them
        /// again gives the same bytes (always, for records this build wrote).
        public var stringsAreValidUTF8: Bool
    }

    /// The layout of the binary call record `bytes`, or nil when it is not one that
    /// `init(binary:)` decodes (a JSON record of an older build, or a malformed one: decode those
    /// the ordinary way, which reports why). Reads the record once, copies nothing.
    public static func binaryLayout(_ bytes: UnsafeRawBufferPointer) -> BinaryLayout? {
        var r = RawCallReader(bytes)
        guard r.u8() == binaryMagic, let version = r.u8(), version == binaryVersion || version == batchedVersion,
              let endpoint = r.run(), let sequence = r.u64(), let webhookID = r.run(), let eventType = r.run(),
              let createdAt = r.u64(), let payload = r.run() else { return nil }
        let head = 2..<r.at
        guard let hasEvent = r.u8() else { return nil }
        var event: Range<Int>?
        if hasEvent == 1 {
            let start = r.at
            guard r.run() != nil else { return nil }
            event = start..<r.at
        }
        let status: Status
        switch r.u8() {
        case 0: status = .pending
        case 1: status = .delivered
        case 2: status = .failed
        default: return nil
        }
        guard let attempts = r.u32() else { return nil }
        let nextAttemptAtOffset = r.at
        guard let nextAttemptAt = r.u64(), let hasLease = r.u8() else { return nil }
        var lease: Lease?
        if hasLease == 1 {
            guard let owner = r.run(), let incarnation = r.u64(), let attempt = r.u32(), let expiresAt = r.u64() else { return nil }
            lease = Lease(owner: r.string(owner), incarnation: incarnation, attempt: attempt, expiresAt: Int64(bitPattern: expiresAt))
        }
        guard let n = r.u32(), n <= 1024 else { return nil }
        for _ in 0..<n {
            // attempt, at, status, latency, response, node
            guard r.u32() != nil, r.u64() != nil, r.u64() != nil, r.u64() != nil, r.run() != nil, r.run() != nil else { return nil }
        }
        var batch: Batch?
        if version == batchedVersion {
            guard let hasBatch = r.u8() else { return nil }
            if hasBatch == 1 {
                guard let id = r.run(), let size = r.u32() else { return nil }
                batch = Batch(id: r.string(id), size: size)
            }
        }
        guard r.at == bytes.count else { return nil }
        return BinaryLayout(head: head, endpoint: endpoint, webhookID: webhookID, eventType: eventType, payload: payload,
                            sequence: sequence, createdAt: Int64(bitPattern: createdAt), event: event, status: status,
                            attempts: attempts, nextAttemptAtOffset: nextAttemptAtOffset,
                            nextAttemptAt: Int64(bitPattern: nextAttemptAt), lease: lease, batch: batch,
                            stringsAreValidUTF8: [endpoint, webhookID, eventType, payload].allSatisfy(r.isValidUTF8))
    }

    /// The binary record of the call stored as `bytes` (laid out as `layout`) once retired:
    /// `status`, `attempts`, no lease and the `tail` of `retiredTail(history:batch:)`, every
    /// other field copied from `bytes`. The same bytes as decoding `bytes`, changing those fields
    /// and `binaryEncoded()`, when `layout.stringsAreValidUTF8` (decoding repairs invalid UTF-8).
    public static func retiredRecord(_ bytes: UnsafeRawBufferPointer, layout l: BinaryLayout, status: Status,
                                     attempts: UInt32, batched: Bool, tail: [UInt8]) -> [UInt8] {
        var w = CallWriter(capacity: 2 + l.head.count + 1 + (l.event?.count ?? 0) + 13 + tail.count)
        w.u8(binaryMagic)
        w.u8(batched ? batchedVersion : binaryVersion)
        w.bytes.append(contentsOf: bytes[l.head])
        if let event = l.event {
            w.u8(1)
            w.bytes.append(contentsOf: bytes[event])
        } else {
            w.u8(0)
        }
        w.u8(status.code)
        w.u32(attempts)
        w.bytes.append(contentsOf: bytes[l.nextAttemptAtOffset..<(l.nextAttemptAtOffset + 8)])
        w.bytes.append(contentsOf: tail)
        return w.bytes
    }

    /// What follows `nextAttemptAt` in a retired call's record: no lease, `history`, `batch`
    /// (the same for every call of a batch, so encoded once per batch).
    public static func retiredTail(history: [Attempt], batch: Batch?) -> [UInt8] {
        var w = CallWriter(capacity: 5 + history.count * 64 + (batch.map { $0.id.utf8.count + 9 } ?? 0))
        w.callTail(lease: nil, history: history, batch: batch)
        return w.bytes
    }
}

extension WebhookCall.Status {
    /// The status byte of a binary call record.
    var code: UInt8 {
        switch self {
        case .pending: 0
        case .delivered: 1
        case .failed: 2
        }
    }
}

/// Reads big-endian integers and length-prefixed runs in place; nil past the end. Pure value;
/// not shared.
private struct RawCallReader {
    let bytes: UnsafeRawBufferPointer
    var at = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func u8() -> UInt8? {
        guard at < bytes.count else { return nil }
        defer { at += 1 }
        return bytes[at]
    }
    mutating func u32() -> UInt32? {
        guard bytes.count - at >= 4 else { return nil }
        var v: UInt32 = 0
        for i in at..<(at + 4) { v = v << 8 | UInt32(bytes[i]) }
        at += 4
        return v
    }
    mutating func u64() -> UInt64? {
        guard bytes.count - at >= 8 else { return nil }
        var v: UInt64 = 0
        for i in at..<(at + 8) { v = v << 8 | UInt64(bytes[i]) }
        at += 8
        return v
    }
    /// A u32-length-prefixed run: the range of its bytes.
    mutating func run() -> Range<Int>? {
        guard let n = u32().map(Int.init), bytes.count - at >= n else { return nil }
        defer { at += n }
        return at..<(at + n)
    }
    func string(_ run: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[run]), as: UTF8.self)
    }
    /// True when every byte of `raw` is below 0x80, looked at eight bytes at a time.
    static func isASCII(_ raw: UnsafeRawBufferPointer) -> Bool {
        var at = 0
        while at + 8 <= raw.count {
            if raw.loadUnaligned(fromByteOffset: at, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            at += 8
        }
        while at < raw.count {
            if raw[at] >= 0x80 { return false }
            at += 1
        }
        return true
    }

    /// Whether `run` decodes to a string whose UTF-8 is `run` itself (ASCII at once).
    func isValidUTF8(_ run: Range<Int>) -> Bool {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[run])
        if Self.isASCII(raw) { return true }
        return String(decoding: raw, as: UTF8.self).utf8.elementsEqual(raw)
    }
}
