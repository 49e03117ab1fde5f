/// A received message or one MIME part of it, split just enough to read reports: unfolded header
/// fields, the content type and its parameters, the decoded body, and the sub-parts of a multipart
/// (nested at most `maxDepth` levels, at most `maxParts` parts in all). Line endings may be CRLF,
/// LF or CR. Lenient: malformed input gives fewer parts, never an error. Pure value; any thread.
public struct MailEntity: Sendable {
    /// Header fields in order: lower-cased name, unfolded value (leading/trailing blanks trimmed).
    public var headers: [(name: String, value: String)]
    /// Body bytes after the blank line, transfer-encoding (base64, quoted-printable) decoded.
    public var body: [UInt8]
    /// Sub-parts when the entity is a multipart (or a message/rfc822 wrapper: its single message).
    public var parts: [MailEntity]

    /// Deepest nesting followed.
    public static let maxDepth = 6
    /// Most parts read from one message.
    public static let maxParts = 64

    /// Parses `bytes` (a whole message). Pure.
    public init(parsing bytes: [UInt8]) {
        var budget = Self.maxParts
        self.init(bytes: Self.normalizedLines(bytes)[...], depth: 0, budget: &budget)
    }

    init(bytes: ArraySlice<UInt8>, depth: Int, budget: inout Int) {
        let (headers, bodyStart) = Self.readHeaders(bytes)
        self.headers = headers
        var body = Array(bytes[bodyStart...])
        parts = []
        let type = Self.contentType(headers)
        switch Self.value("content-transfer-encoding", headers)?.lowercased() {
        case "base64"?: body = Base64.decode(body.filter { $0 != 0x0A && $0 != 0x20 && $0 != 0x09 }) ?? body
        case "quoted-printable"?:
            body = QuotedPrintable.decode(body.flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] })
                .filter { $0 != 0x0D }
        default: break
        }
        self.body = body
        guard depth < Self.maxDepth else { return }
        if type.type.hasPrefix("multipart/"), let boundary = type.parameters["boundary"], !boundary.isEmpty {
            for chunk in Self.split(body[...], boundary: Array(boundary.utf8)) {
                guard budget > 0 else { break }
                budget -= 1
                parts.append(MailEntity(bytes: chunk, depth: depth + 1, budget: &budget))
            }
        } else if type.type == "message/rfc822" || type.type == "message/global" {
            guard budget > 0 else { return }
            budget -= 1
            parts.append(MailEntity(bytes: body[...], depth: depth + 1, budget: &budget))
        }
    }

    /// The first value of header `name` (case-insensitive). Pure.
    public func header(_ name: String) -> String? { Self.value(name.lowercased(), headers) }

    /// The content type, lower-cased, with its parameters (names lower-cased, values unquoted);
    /// `text/plain` when absent. Pure.
    public var contentType: (type: String, parameters: [String: String]) { Self.contentType(headers) }

    /// The body as text (invalid UTF-8 repaired). Pure.
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// This entity and every part below it, depth first. Pure.
    public var allEntities: [MailEntity] { [self] + parts.flatMap(\.allEntities) }

    // MARK: Parsing helpers

    static func value(_ name: String, _ headers: [(name: String, value: String)]) -> String? {
        headers.first { $0.name == name }?.value
    }

    /// CRLF and lone CR become LF, so the rest deals with one line ending.
    static func normalizedLines(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x0D {
                out.append(0x0A)
                if i + 1 < bytes.count && bytes[i + 1] == 0x0A { i += 1 }
            } else {
                out.append(b)
            }
            i += 1
        }
        return out
    }

    /// Header fields up to the first empty line, and where the body starts.
    static func readHeaders(_ bytes: ArraySlice<UInt8>) -> ([(name: String, value: String)], Int) {
        var fields: [(name: String, value: String)] = []
        var i = bytes.startIndex
        var current: [UInt8] = []
        func flush() {
            guard let colon = current.firstIndex(of: 0x3A) else { current = []; return }
            let name = String(decoding: current[..<colon], as: UTF8.self).trimmingBlanks.lowercased()
            let value = String(decoding: current[(colon + 1)...], as: UTF8.self).trimmingBlanks
            if !name.isEmpty && !name.contains(" ") { fields.append((name, value)) }
            current = []
        }
        while i < bytes.endIndex {
            let end = bytes[i...].firstIndex(of: 0x0A) ?? bytes.endIndex
            let line = bytes[i..<end]
            let next = end < bytes.endIndex ? end + 1 : end
            if line.isEmpty {
                flush()
                return (fields, next)
            }
            if line.first == 0x20 || line.first == 0x09 {
                current.append(0x20)
                current.append(contentsOf: line.drop { $0 == 0x20 || $0 == 0x09 })
            } else {
                // A line without a colon before any header: not a header block (body text).
                if fields.isEmpty && current.isEmpty && !line.contains(0x3A) { return ([], bytes.startIndex) }
                flush()
                current = Array(line)
            }
            i = next
        }
        flush()
        return (fields, bytes.endIndex)
    }

    static func contentType(_ headers: [(name: String, value: String)]) -> (type: String, parameters: [String: String]) {
        guard let raw = value("content-type", headers) else { return ("text/plain", [:]) }
        var pieces = splitParameters(raw)
        let type = pieces.isEmpty ? "text/plain" : pieces.removeFirst().trimmingBlanks.lowercased()
        var parameters: [String: String] = [:]
        for p in pieces {
            guard let eq = p.firstIndex(of: "=") else { continue }
            let key = p[..<eq].trimmingBlanks.lowercased()
            var v = p[p.index(after: eq)...].trimmingBlanks
            if v.count >= 2 && v.hasPrefix("\"") && v.hasSuffix("\"") { v = String(v.dropFirst().dropLast()) }
            parameters[key] = v
        }
        return (type, parameters)
    }

    /// Splits on `;` outside double quotes.
    static func splitParameters(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false
        for c in text {
            if c == "\"" { quoted.toggle() }
            if c == ";" && !quoted {
                out.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        out.append(current)
        return out
    }

    /// The parts between `--boundary` lines (preamble and epilogue dropped).
    static func split(_ body: ArraySlice<UInt8>, boundary: [UInt8]) -> [ArraySlice<UInt8>] {
        let delimiter: [UInt8] = [0x2D, 0x2D] + boundary
        var parts: [ArraySlice<UInt8>] = []
        var start: Int? = nil
        var i = body.startIndex
        while i < body.endIndex {
            let end = body[i...].firstIndex(of: 0x0A) ?? body.endIndex
            let line = body[i..<end]
            if line.starts(with: delimiter) {
                let rest = line.dropFirst(delimiter.count)
                if let s = start {
                    // The line break before the delimiter belongs to it.
                    parts.append(body[s..<max(s, i - 1)])
                }
                if rest.starts(with: [0x2D, 0x2D]) { return parts }
                start = end < body.endIndex ? end + 1 : end
            }
            i = end < body.endIndex ? end + 1 : end
        }
        if let s = start, s < body.endIndex { parts.append(body[s...]) }
        return parts
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    /// Works on the UTF-8 view: blanks are ASCII, so the cut falls on scalar boundaries.
    var trimmingBlanks: String {
        let text = Substring(self)
        guard let first = text.utf8.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { return "" }
        let last = text.utf8.lastIndex(where: { $0 != 0x20 && $0 != 0x09 })!
        return String(text[first...last])
    }

    /// Whether `needle` occurs in this text, compared byte for byte as UTF-8. Used instead of `contains`,
    /// which resolves to Foundation's Unicode-aware search (many times slower) wherever Foundation is
    /// visible in the module. Pure; any caller.
    func containsBytes(_ needle: String) -> Bool {
        let needleBytes = Array(needle.utf8)
        if let found = utf8.withContiguousStorageIfAvailable({ BounceClassifier.contains($0, needleBytes) }) { return found }
        return Array(utf8).withUnsafeBufferPointer { BounceClassifier.contains($0, needleBytes) }
    }
}
