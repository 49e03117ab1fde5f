extension Event {
    /// The webhook body: the event's JSON object as `JSONEncoder` with `.sortedKeys` writes it
    /// (`/` escaped as `\/`, absent optionals left out), with `"sequence":N` added last. Written
    /// by hand: a few µs instead of Foundation's tens. The dispatcher renders calls from the stored
    /// record instead (`appendWebhookJSON(record:…)`, no decoded event), checked against this one.
    /// Pure; any thread.
    public func webhookJSON(sequence: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + (response?.utf8.count ?? 0))
        appendWebhookJSON(sequence: sequence, to: &out)
        return out
    }

    /// Appends `webhookJSON(sequence:)`'s bytes to `out`, leaving off the closing `}` when
    /// `open` (a batch element adds its `"webhookId"` then closes it): no intermediate array or
    /// string per call. Pure; any thread.
    func appendWebhookJSON(sequence: UInt64, open: Bool = false, to out: inout [UInt8]) {
        let start = out.count
        out.append(UInt8(ascii: "{"))
        func key(_ k: StaticString) {
            if out.count > start + 1 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount))
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        func string(_ k: StaticString, _ v: String?) {
            guard let v else { return }
            key(k)
            Self.appendJSONString(v, to: &out)
        }
        func number(_ k: StaticString, _ v: Int?) {
            guard let v else { return }
            key(k)
            out.append(contentsOf: String(v).utf8)
        }
        // Sorted keys, as JSONEncoder's .sortedKeys orders them.
        number("attempt", attempt)
        string("bounceClass", bounceClass)
        string("enhancedCode", enhancedCode)
        string("id", id)
        string("messageId", messageId)
        string("pool", pool)
        string("queueId", queueId)
        string("recipient", recipient)
        string("remoteHost", remoteHost)
        string("response", response)
        string("sender", sender)
        string("sendingIP", sendingIP)
        number("smtpCode", smtpCode)
        string("tenant", tenant)
        string("timestamp", timestamp)
        string("type", type.rawValue)
        key("sequence")
        out.append(contentsOf: String(sequence).utf8)
        if !open { out.append(UInt8(ascii: "}")) }
    }

    /// Appends `s` as a JSON string literal, escaped as Foundation's `JSONEncoder` does.
    static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { appendEscaped(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// Appends valid UTF-8 bytes as a JSON string literal (quotes included), escaped as
    /// `JSONEncoder` does. Pure; any thread.
    static func appendEscaped(_ utf8: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Runs that need no escaping are copied whole (most strings are one run).
        var run = 0
        for i in 0..<utf8.count {
            let b = utf8[i]
            guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b == UInt8(ascii: "/") else { continue }
            if run < i { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[run..<i])) }
            run = i + 1
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case UInt8(ascii: "/"): out.append(contentsOf: [0x5C, 0x2F])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            default:
                let hex: StaticString = "0123456789abcdef"
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex.utf8Start[Int(b >> 4)], hex.utf8Start[Int(b & 0xF)]])
            }
        }
        if run < utf8.count { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[run...])) }
        out.append(UInt8(ascii: "\""))
    }
}
