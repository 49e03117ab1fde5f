extension JSONValue {
    /// A JSON syntax error with a 1-based line and column.
    struct SyntaxError: Error, Equatable, CustomStringConvertible {
        var line: Int
        var column: Int
        var message: String
        var description: String { "line \(line), column \(column): \(message)" }
    }

    /// Parses RFC 8259 JSON strictly (no comments, no trailing commas, no duplicate keys), skipping a
    /// leading UTF-8 BOM. Nesting is limited to 64 levels. Internal; used for config files so syntax
    /// errors can name a line and column.
    static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> JSONValue {
        var p = JSONParser(bytes: bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { p.i = 3 }
        p.skipSpace()
        if p.i == bytes.count { throw p.error("empty document", at: p.i) }
        let v = try p.value(depth: 0)
        p.skipSpace()
        if p.i < bytes.count { throw p.error("unexpected \(p.describe(p.i)) after the document", at: p.i) }
        return v
    }
}

/// Recursive-descent JSON reader over bytes. Internal to JSONValue.parse.
struct JSONParser {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func error(_ message: String, at index: Int) -> JSONValue.SyntaxError {
        var line = 1, column = 1
        for b in bytes[0..<min(index, bytes.count)] {
            if b == 0x0A { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
        }
        return JSONValue.SyntaxError(line: line, column: column, message: message)
    }

    func describe(_ index: Int) -> String {
        guard index < bytes.count else { return "end of file" }
        let b = bytes[index]
        return b >= 0x20 && b < 0x7F ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16))"
    }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    mutating func value(depth: Int) throws(JSONValue.SyntaxError) -> JSONValue {
        guard depth < 64 else { throw error("nesting deeper than 64 levels", at: i) }
        guard i < bytes.count else { throw error("unexpected end of file, expected a value", at: i) }
        switch bytes[i] {
        case 0x7B: return try object(depth: depth)
        case 0x5B: return try array(depth: depth)
        case 0x22: return .string(try string())
        case 0x74: try literal("true"); return .bool(true)
        case 0x66: try literal("false"); return .bool(false)
        case 0x6E: try literal("null"); return .null
        case 0x2D, 0x30...0x39: return try number()
        default: throw error("unexpected \(describe(i)), expected a value", at: i)
        }
    }

    mutating func literal(_ word: String) throws(JSONValue.SyntaxError) {
        let w = Array(word.utf8)
        guard bytes.count - i >= w.count, Array(bytes[i..<(i + w.count)]) == w else {
            throw error("invalid literal, expected '\(word)'", at: i)
        }
        i += w.count
    }

    mutating func object(depth: Int) throws(JSONValue.SyntaxError) -> JSONValue {
        i += 1
        var fields: [String: JSONValue] = [:]
        skipSpace()
        if i < bytes.count && bytes[i] == 0x7D { i += 1; return .object(fields) }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == 0x22 else {
                throw error("unexpected \(describe(i)), expected a quoted key", at: i)
            }
            let keyStart = i
            let key = try string()
            if fields[key] != nil { throw error("duplicate key '\(key)'", at: keyStart) }
            skipSpace()
            guard i < bytes.count, bytes[i] == 0x3A else { throw error("unexpected \(describe(i)), expected ':'", at: i) }
            i += 1
            skipSpace()
            fields[key] = try value(depth: depth + 1)
            if try !separator(close: 0x7D) { return .object(fields) }
        }
    }

    mutating func array(depth: Int) throws(JSONValue.SyntaxError) -> JSONValue {
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if i < bytes.count && bytes[i] == 0x5D { i += 1; return .array(items) }
        while true {
            skipSpace()
            items.append(try value(depth: depth + 1))
            if try !separator(close: 0x5D) { return .array(items) }
        }
    }

    /// After a member or element: consumes `,` (returns true, more follow) or the closing bracket
    /// `close` (returns false); anything else, or a trailing comma, is an error.
    mutating func separator(close: UInt8) throws(JSONValue.SyntaxError) -> Bool {
        let closeText = close == 0x7D ? "'}'" : "']'"
        skipSpace()
        guard i < bytes.count else { throw error("unexpected end of file, expected ',' or \(closeText)", at: i) }
        if bytes[i] == 0x2C {
            i += 1
            skipSpace()
            if i < bytes.count && bytes[i] == close { throw error("trailing comma before \(closeText)", at: i) }
            return true
        }
        if bytes[i] == close { i += 1; return false }
        throw error("unexpected \(describe(i)), expected ',' or \(closeText)", at: i)
    }

    mutating func string() throws(JSONValue.SyntaxError) -> String {
        let start = i
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw error("unterminated string", at: start) }
            let c = bytes[i]
            if c == 0x22 { i += 1; break }
            if c < 0x20 { throw error("control character in string (escape it)", at: i) }
            if c != 0x5C { out.append(c); i += 1; continue }
            guard i + 1 < bytes.count else { throw error("unterminated string", at: start) }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case 0x22, 0x5C, 0x2F: out.append(e)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard i + 1 < bytes.count, bytes[i] == 0x5C, bytes[i + 1] == 0x75 else {
                        throw error("unpaired surrogate in \\u escape", at: i)
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in \\u escape", at: i) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("unpaired surrogate in \\u escape", at: i)
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
            default:
                throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'", at: i - 2)
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw error("invalid UTF-8 in string", at: start) }
        return s
    }

    mutating func hex4() throws(JSONValue.SyntaxError) -> UInt32 {
        guard bytes.count - i >= 4 else { throw error("truncated \\u escape", at: i) }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = bytes[i + k]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw error("invalid \\u escape", at: i + k)
            }
            v = v << 4 | d
        }
        i += 4
        return v
    }

    mutating func number() throws(JSONValue.SyntaxError) -> JSONValue {
        let start = i
        var isInteger = true
        if bytes[i] == 0x2D { i += 1 }
        func digits(_ p: inout JSONParser) -> Int {
            let s = p.i
            while p.i < p.bytes.count, p.bytes[p.i] >= 0x30 && p.bytes[p.i] <= 0x39 { p.i += 1 }
            return p.i - s
        }
        let intStart = i
        let n = digits(&self)
        guard n > 0 else { throw error("invalid number", at: start) }
        if n > 1 && bytes[intStart] == 0x30 { throw error("leading zero in number", at: start) }
        if i < bytes.count && bytes[i] == 0x2E {
            isInteger = false
            i += 1
            guard digits(&self) > 0 else { throw error("invalid number: digits expected after '.'", at: i) }
        }
        if i < bytes.count && (bytes[i] == 0x65 || bytes[i] == 0x45) {
            isInteger = false
            i += 1
            if i < bytes.count && (bytes[i] == 0x2B || bytes[i] == 0x2D) { i += 1 }
            guard digits(&self) > 0 else { throw error("invalid number: digits expected in exponent", at: i) }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if isInteger, let v = Int(text) { return .integer(v) }
        guard let d = Double(text) else { throw error("invalid number", at: start) }
        return .number(d)
    }
}
