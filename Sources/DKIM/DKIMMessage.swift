/// A message split for DKIM: its header fields (each with its continuation lines and final CRLF,
/// in order) and its body. Pure; any thread.
public struct DKIMMessage: Sendable {
    /// The whole message.
    public let bytes: [UInt8]
    /// Each header field's byte range in `bytes` (name through its final CRLF), top to bottom.
    public let fields: [Range<Int>]
    /// Where the body starts (after the empty line), `bytes.count` when there is none.
    public let bodyStart: Int

    /// Splits `bytes` (CRLF line endings). Lines that are not header fields end the header.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var fields: [Range<Int>] = []
        var i = 0
        var bodyStart = bytes.count
        let n = bytes.count
        while i < n {
            // An empty line ends the header.
            if bytes[i] == 0x0D, i + 1 < n, bytes[i + 1] == 0x0A {
                bodyStart = i + 2
                break
            }
            let start = i
            // A field runs to a CRLF not followed by whitespace (a continuation).
            var end = n
            var j = i
            while j < n {
                if bytes[j] == 0x0D, j + 1 < n, bytes[j + 1] == 0x0A {
                    if j + 2 < n, bytes[j + 2] == 0x20 || bytes[j + 2] == 0x09 {
                        j += 2
                        continue
                    }
                    end = j + 2
                    break
                }
                j += 1
            }
            fields.append(start..<end)
            i = end
        }
        self.fields = fields
        self.bodyStart = bodyStart
    }

    /// The body bytes.
    public var body: ArraySlice<UInt8> { bytes[bodyStart...] }

    /// The lower-cased name of the field at `index` in `fields`.
    public func name(_ index: Int) -> String {
        let field = bytes[fields[index]]
        let colon = field.firstIndex(of: 0x3A) ?? field.endIndex
        var name = Array(field[field.startIndex..<colon])
        while let last = name.last, last == 0x20 || last == 0x09 { name.removeLast() }
        return String(decoding: name.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// The unfolded, trimmed value of the last field named `name` (case-insensitive), if any.
    ///
    /// Read for every accepted message (the From field), so ASCII names and values are compared
    /// and trimmed as bytes, without building a string per field: for ASCII text that is the same
    /// answer as the string comparison and the character trimming, which other text still takes.
    public func lastValue(of name: String) -> String? {
        let wanted = name.lowercased()
        let wantedASCII: [UInt8]? = wanted.utf8.allSatisfy { $0 < 0x80 } ? Array(wanted.utf8) : nil
        guard let index = fields.indices.last(where: { i in
            if let wantedASCII, let same = asciiName(i, equals: wantedASCII) { return same }
            return self.name(i) == wanted
        }) else { return nil }
        let field = bytes[fields[index]]
        guard let colon = field.firstIndex(of: 0x3A) else { return nil }
        if let value = Self.asciiTrimmedValue(field[(colon + 1)...]) { return value }
        let value = field[(colon + 1)...].filter { $0 != 0x0D && $0 != 0x0A }
        return String(decoding: value, as: UTF8.self).trimmingWhitespace()
    }

    /// Whether the field at `index` has the name `wanted` (lower-case ASCII bytes) as `name(index)`
    /// would say; nil when its name has a byte that is not ASCII (then compare strings).
    func asciiName(_ index: Int, equals wanted: [UInt8]) -> Bool? {
        let field = bytes[fields[index]]
        var end = field.firstIndex(of: 0x3A) ?? field.endIndex
        while end > field.startIndex, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        var same = end - field.startIndex == wanted.count
        for (offset, b) in bytes[field.startIndex..<end].enumerated() {
            if b >= 0x80 { return nil }
            if same, (b >= 0x41 && b <= 0x5A ? b | 0x20 : b) != wanted[offset] { same = false }
        }
        return same
    }

    /// `value` without CR and LF, spaces and tabs trimmed at both ends, when it is all ASCII; nil
    /// otherwise (a combining mark may join a space into one character, which is then kept).
    static func asciiTrimmedValue(_ value: ArraySlice<UInt8>) -> String? {
        var start = value.startIndex, end = value.endIndex
        for b in value where b >= 0x80 { return nil }
        func skipped(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
        while start < end, skipped(value[start]) { start += 1 }
        while end > start, skipped(value[end - 1]) { end -= 1 }
        var count = 0
        for b in value[start..<end] where b != 0x0D && b != 0x0A { count += 1 }
        return String(unsafeUninitializedCapacity: count) { out in
            var i = 0
            for b in value[start..<end] where b != 0x0D && b != 0x0A {
                out[i] = b
                i += 1
            }
            return count
        }
    }

    /// Count of fields named `name` (case-insensitive).
    public func count(of name: String) -> Int {
        let wanted = name.lowercased()
        return fields.indices.reduce(0) { $0 + (self.name($1) == wanted ? 1 : 0) }
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
