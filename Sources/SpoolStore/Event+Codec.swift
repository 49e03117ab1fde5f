extension Event {
    static let recordVersion: UInt8 = 1

    /// Binary form stored in LMDB (the JSON form is only for the API). Pure.
    func encoded() -> [UInt8] {
        var w = BinaryWriter(capacity: encodedSize)  // exact: no regrowth while writing
        w.u8(Self.recordVersion)
        w.string(id)
        w.u8(type.code)
        w.string(messageId)
        w.string(queueId)
        w.string(tenant)
        w.string(sender)
        w.string(recipient)
        w.i64(timestampMillis)
        var present: UInt8 = 0
        if smtpCode != nil { present |= 1 }
        if enhancedCode != nil { present |= 2 }
        if response != nil { present |= 4 }
        if remoteHost != nil { present |= 8 }
        if attempt != nil { present |= 16 }
        if bounceClass != nil { present |= 32 }
        if sendingIP != nil { present |= 64 }
        if pool != nil { present |= 128 }
        w.u8(present)
        if let smtpCode { w.u32(UInt32(truncatingIfNeeded: smtpCode)) }
        if let enhancedCode { w.string(enhancedCode) }
        if let response { w.string(response) }
        if let remoteHost { w.string(remoteHost) }
        if let attempt { w.u32(UInt32(truncatingIfNeeded: attempt)) }
        if let bounceClass { w.string(bounceClass) }
        if let sendingIP { w.string(sendingIP) }
        if let pool { w.string(pool) }
        return w.bytes
    }

    /// The length of ``encoded()``.
    var encodedSize: Int {
        var n = 1 + 1 + 8 + 1 + 6 * 4 + id.utf8.count + messageId.utf8.count + queueId.utf8.count + tenant.utf8.count
            + sender.utf8.count + recipient.utf8.count
        if smtpCode != nil { n += 4 }
        if attempt != nil { n += 4 }
        n += Self.size(enhancedCode) + Self.size(response) + Self.size(remoteHost) + Self.size(bounceClass)
            + Self.size(sendingIP) + Self.size(pool)
        return n
    }

    private static func size(_ s: String?) -> Int { s.map { 4 + $0.utf8.count } ?? 0 }

    /// Decodes the stored binary form; throws `.corrupt`. Any thread.
    init(decoding buffer: UnsafeRawBufferPointer) throws {
        var r = BinaryReader(buffer, what: "event record")
        guard try r.u8() == Self.recordVersion else { throw StoreError.corrupt("event record version") }
        id = try r.string()
        guard let kind = Kind(code: try r.u8()) else { throw StoreError.corrupt("event type") }
        type = kind
        messageId = try r.string()
        queueId = try r.string()
        tenant = try r.string()
        sender = try r.string()
        recipient = try r.string()
        timestampMillis = try r.i64()
        let present = try r.u8()
        smtpCode = present & 1 != 0 ? Int(try r.u32()) : nil
        enhancedCode = present & 2 != 0 ? try r.string() : nil
        response = present & 4 != 0 ? try r.string() : nil
        remoteHost = present & 8 != 0 ? try r.string() : nil
        attempt = present & 16 != 0 ? Int(try r.u32()) : nil
        bounceClass = present & 32 != 0 ? try r.string() : nil
        sendingIP = present & 64 != 0 ? try r.string() : nil
        pool = present & 128 != 0 ? try r.string() : nil
        guard r.isAtEnd else { throw StoreError.corrupt("event record (trailing bytes)") }
    }
}
