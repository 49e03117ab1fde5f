import SendarixSupport

extension Event {
    /// Appends the webhook body of the stored event record `record` (`Event+Codec`), as
    /// `appendWebhookJSON(sequence:open:to:)` writes it for the decoded event, but straight from
    /// the record's bytes: no event, no string per field. Returns false, appending nothing, when
    /// the record does not decode (`init(decoding:)` would throw). Fields that are not ASCII go
    /// through `String` (its repair of invalid UTF-8) as the decoded event's would. Pure; any thread.
    static func appendWebhookJSON(record: UnsafeRawBufferPointer, sequence: UInt64, open: Bool,
                                  to out: inout [UInt8]) -> Bool {
        guard let f = RecordFields(record) else { return false }
        var first = true
        func key(_ k: StaticString) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount))
        }
        func string(_ k: StaticString, _ v: UnsafeRawBufferPointer?) {
            guard let v else { return }
            key(k)
            appendJSONString(utf8: v, to: &out)
        }
        func number(_ k: StaticString, _ v: UInt32?) {
            guard let v else { return }
            key(k)
            appendDecimal(UInt64(v), to: &out)
        }
        out.append(UInt8(ascii: "{"))
        // Sorted keys, as JSONEncoder's .sortedKeys orders them (the order of appendWebhookJSON).
        number("\"attempt\":", f.attempt)
        string("\"bounceClass\":", f.bounceClass)
        string("\"enhancedCode\":", f.enhancedCode)
        string("\"id\":", f.id)
        string("\"messageId\":", f.messageId)
        string("\"pool\":", f.pool)
        string("\"queueId\":", f.queueId)
        string("\"recipient\":", f.recipient)
        string("\"remoteHost\":", f.remoteHost)
        string("\"response\":", f.response)
        string("\"sender\":", f.sender)
        string("\"sendingIP\":", f.sendingIP)
        number("\"smtpCode\":", f.smtpCode)
        string("\"tenant\":", f.tenant)
        key("\"timestamp\":\"")
        // RFC 3339 text is digits, `-`, `T`, `:`, `.` and `Z`: nothing to escape.
        CivilDate.appendRFC3339(millis: f.timestampMillis, to: &out)
        out.append(UInt8(ascii: "\""))
        key("\"type\":")
        appendJSONString(f.type.rawValue, to: &out)
        key("\"sequence\":")
        appendDecimal(sequence, to: &out)
        if !open { out.append(UInt8(ascii: "}")) }
        return true
    }

    /// The fields of an event record as slices of it, read as `init(decoding:)` reads them (the
    /// same checks, so the same records are refused). Valid only while the record's bytes are.
    struct RecordFields {
        var id, messageId, queueId, tenant, sender, recipient: UnsafeRawBufferPointer
        var type: Kind
        var timestampMillis: Int64
        var smtpCode, attempt: UInt32?
        var enhancedCode, response, remoteHost, bounceClass, sendingIP, pool: UnsafeRawBufferPointer?

        init?(_ record: UnsafeRawBufferPointer) {
            var r = BinaryReader(record, what: "event record")
            guard (try? r.u8()) == Event.recordVersion else { return nil }
            do {
                id = try r.run()
                guard let kind = Kind(code: try r.u8()) else { return nil }
                type = kind
                messageId = try r.run()
                queueId = try r.run()
                tenant = try r.run()
                sender = try r.run()
                recipient = try r.run()
                timestampMillis = try r.i64()
                let present = try r.u8()
                smtpCode = present & 1 != 0 ? try r.u32() : nil
                enhancedCode = present & 2 != 0 ? try r.run() : nil
                response = present & 4 != 0 ? try r.run() : nil
                remoteHost = present & 8 != 0 ? try r.run() : nil
                attempt = present & 16 != 0 ? try r.u32() : nil
                bounceClass = present & 32 != 0 ? try r.run() : nil
                sendingIP = present & 64 != 0 ? try r.run() : nil
                pool = present & 128 != 0 ? try r.run() : nil
            } catch {
                return nil
            }
            guard r.isAtEnd else { return nil }
        }
    }

    /// Appends UTF-8 bytes as a JSON string literal, as `appendJSONString(_:to:)` writes the
    /// `String` decoded from them: ASCII is escaped in place; anything else goes through `String`
    /// (which replaces invalid UTF-8 with U+FFFD). Pure; any thread.
    static func appendJSONString(utf8 bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        var ascii = true
        for b in bytes where b >= 0x80 { ascii = false; break }
        guard ascii else { return appendJSONString(String(decoding: bytes, as: UTF8.self), to: &out) }
        appendEscaped(bytes, to: &out)
    }

    /// Appends `v` in decimal. Pure; any thread.
    static func appendDecimal(_ v: UInt64, to out: inout [UInt8]) {
        var digits = 1
        var x = v
        while x >= 10 { x /= 10; digits += 1 }
        let end = out.count + digits
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        x = v
        out.withUnsafeMutableBufferPointer { p in
            var i = end - 1
            repeat {
                p[i] = UInt8(ascii: "0") + UInt8(x % 10)
                x /= 10
                i -= 1
            } while x > 0
        }
    }
}
