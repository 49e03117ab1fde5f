extension StoredMessage {
    static let recordVersion: UInt8 = 1

    /// Encodes the record stored under the message's queue ID. Pure; any thread.
    func encoded() -> [UInt8] {
        var w = BinaryWriter(capacity: 192 + recipients.count * 96)
        w.u8(Self.recordVersion)
        w.string(queueID)
        w.string(messageID)
        w.string(tenant)
        w.string(authUser)
        w.string(clientIP)
        w.string(sender)
        w.i64(receivedAt)
        w.u8(bodyType.rawValue)
        w.u32(flags.rawValue)
        w.string(dsnEnvelopeID)
        w.u8(dsnReturn.rawValue)
        w.u64(UInt64(bodySize))
        w.u32(attempts)
        if let lease {
            // 2: a lease with its owner's incarnation (1, without it, is still read).
            w.u8(2)
            w.string(lease.owner)
            w.u32(lease.attempt)
            w.i64(lease.expiresAt)
            w.u64(lease.incarnation)
        } else {
            w.u8(0)
        }
        w.u32(UInt32(recipients.count))
        for r in recipients {
            w.string(r.address)
            w.u8(r.notify.rawValue)
            w.string(r.originalRecipient)
            w.u8(r.status.rawValue)
            w.i64(r.nextAttemptAt)
            w.u16(r.lastCode)
            w.string(r.lastEnhancedCode)
            w.string(r.lastResponse)
            w.string(r.lastRemoteHost)
            w.string(r.lastBounceClass)
        }
        return w.bytes
    }

    /// Decodes a stored record; throws `.corrupt` on malformed bytes. Any thread.
    init(decoding buffer: UnsafeRawBufferPointer) throws {
        var r = BinaryReader(buffer, what: "message record")
        guard try r.u8() == Self.recordVersion else { throw StoreError.corrupt("message record version") }
        queueID = try r.string()
        messageID = try r.string()
        tenant = try r.string()
        authUser = try r.string()
        clientIP = try r.string()
        sender = try r.string()
        receivedAt = try r.i64()
        guard let bt = SpoolCommand.BodyType(rawValue: try r.u8()) else { throw StoreError.corrupt("body type") }
        bodyType = bt
        flags = SpoolCommand.Flags(rawValue: try r.u32())
        dsnEnvelopeID = try r.string()
        guard let ret = SpoolCommand.DSNReturn(rawValue: try r.u8()) else { throw StoreError.corrupt("DSN RET") }
        dsnReturn = ret
        bodySize = Int(try r.u64())
        attempts = try r.u32()
        switch try r.u8() {
        case 0:
            lease = nil
        case 1:
            lease = Lease(owner: try r.string(), attempt: try r.u32(), expiresAt: try r.i64())
        case 2:
            lease = Lease(owner: try r.string(), attempt: try r.u32(), expiresAt: try r.i64(), incarnation: try r.u64())
        default:
            throw StoreError.corrupt("lease flag")
        }
        let n = try r.count(minBytesEach: 36)
        var list: [RecipientState] = []
        list.reserveCapacity(n)
        for _ in 0..<n {
            let address = try r.string()
            let notify = SpoolCommand.Notify(rawValue: try r.u8())
            let orcpt = try r.string()
            guard let status = Status(rawValue: try r.u8()) else { throw StoreError.corrupt("recipient status") }
            list.append(RecipientState(address: address, notify: notify, originalRecipient: orcpt, status: status,
                                       nextAttemptAt: try r.i64(), lastCode: try r.u16(),
                                       lastEnhancedCode: try r.string(), lastResponse: try r.string(),
                                       lastRemoteHost: try r.string(), lastBounceClass: try r.string()))
        }
        recipients = list
        guard r.isAtEnd else { throw StoreError.corrupt("message record (trailing bytes)") }
    }
}
