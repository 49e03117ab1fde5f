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
    public func lastValue(of name: String) -> String? {
        let wanted = name.lowercased()
        guard let index = fields.indices.last(where: { self.name($0) == wanted }) else { return nil }
        let field = bytes[fields[index]]
        guard let colon = field.firstIndex(of: 0x3A) else { return nil }
        let value = field[(colon + 1)...].filter { $0 != 0x0D && $0 != 0x0A }
        return String(decoding: value, as: UTF8.self).trimmingWhitespace()
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
