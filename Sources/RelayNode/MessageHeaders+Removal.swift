extension MessageHeaders {
    /// `message` without any field named `name` (case-insensitive, continuation lines included)
    /// in its header section, and the unfolded value of the first such field. Returns the message
    /// unchanged (no copy) when there is none. Pure.
    static func removing(_ name: String, from message: [UInt8]) -> (value: String?, message: [UInt8]) {
        guard let first = value(of: name, in: message) else { return (nil, message) }
        let want = Array(name.lowercased().utf8)
        var out: [UInt8] = []
        out.reserveCapacity(message.count)
        var lineStart = 0
        var dropping = false
        var inHeader = true
        while lineStart < message.count {
            var end = lineStart
            while end < message.count && message[end] != 0x0A { end += 1 }
            let next = min(end + 1, message.count)
            if inHeader {
                let contentEnd = end > lineStart && message[end - 1] == 0x0D ? end - 1 : end
                if contentEnd == lineStart {
                    inHeader = false
                } else if message[lineStart] == 0x20 || message[lineStart] == 0x09 {
                    if dropping { lineStart = next; continue }
                } else {
                    dropping = contentEnd - lineStart > want.count && message[lineStart + want.count] == UInt8(ascii: ":")
                        && zip(message[lineStart..<(lineStart + want.count)], want).allSatisfy { a, b in
                            (a >= 0x41 && a <= 0x5A ? a + 32 : a) == b
                        }
                    if dropping { lineStart = next; continue }
                }
            }
            if !inHeader {
                out += message[lineStart...]
                break
            }
            out += message[lineStart..<next]
            lineStart = next
        }
        return (first, out)
    }
}
