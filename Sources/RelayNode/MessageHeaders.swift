/// Reads header fields from the header section of a stored message (RFC 5322), without
/// copying the body. Pure.
enum MessageHeaders {
    /// The unfolded, trimmed value of the first field named `name` (case-insensitive), or nil.
    /// Only the header section (up to the first empty line, at most 64 KiB) is scanned.
    static func value(of name: String, in message: [UInt8]) -> String? {
        let want = Array(name.lowercased().utf8)
        let limit = min(message.count, 65_536)
        var lineStart = 0
        while lineStart < limit {
            var end = lineStart
            while end < limit && message[end] != 0x0A { end += 1 }
            let contentEnd = end > lineStart && message[end - 1] == 0x0D ? end - 1 : end
            if contentEnd == lineStart { return nil }  // empty line: end of headers
            if contentEnd - lineStart > want.count && message[lineStart + want.count] == UInt8(ascii: ":") {
                var match = true
                for i in 0..<want.count {
                    var c = message[lineStart + i]
                    if c >= 0x41 && c <= 0x5A { c += 32 }
                    if c != want[i] { match = false; break }
                }
                if match {
                    var value = Array(message[(lineStart + want.count + 1)..<contentEnd])
                    // Unfold continuation lines.
                    var next = end + 1
                    while next < limit && (message[next] == 0x20 || message[next] == 0x09) {
                        var e = next
                        while e < limit && message[e] != 0x0A { e += 1 }
                        let ce = e > next && message[e - 1] == 0x0D ? e - 1 : e
                        value += message[next..<ce]
                        next = e + 1
                    }
                    return String(decoding: value, as: UTF8.self).trimmingWhitespace()
                }
            }
            lineStart = end + 1
        }
        return nil
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
