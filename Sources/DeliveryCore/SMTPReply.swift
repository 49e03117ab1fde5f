/// A complete (possibly multi-line) SMTP reply from a server, e.g.
/// `550-5.1.1 The email account that you tried to reach does not exist.` + continuation lines.
///
/// `lines` hold each line's text with the code, the separator and a leading enhanced status code
/// removed. Pure value; any thread may use it.
public struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    /// The three digit reply code (200...599).
    public var code: Int
    /// The RFC 3463 enhanced status code of the first line, when the server sent one.
    public var enhancedCode: EnhancedStatusCode?
    /// Text of each line without code, separator or enhanced code.
    public var lines: [String]

    /// Creates a reply from its parts. Pure; any caller.
    public init(code: Int, enhancedCode: EnhancedStatusCode? = nil, lines: [String] = []) {
        self.code = code
        self.enhancedCode = enhancedCode
        self.lines = lines
    }

    /// Creates a single-line reply. Pure; any caller.
    public init(_ code: Int, _ enhanced: EnhancedStatusCode?, _ text: String) {
        self.init(code: code, enhancedCode: enhanced, lines: [text])
    }

    /// Parses reply text as it appears in logs and bounce messages: one or more lines
    /// (separated by CRLF or LF) like `550-5.1.1 text` / `550 5.1.1 text`, or a bare `550 text`.
    /// Returns nil when the first line does not start with a three digit code. Pure; any caller.
    public init?(parsing text: String) {
        var parser = SMTPReplyParser()
        var bytes = Array(text.utf8)
        if bytes.last != UInt8(ascii: "\n") { bytes.append(contentsOf: [13, 10]) }
        // Logged replies often use "550-" on every line or omit the final space; normalise by
        // parsing line by line and treating the last line as final.
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        for index in bytes.indices where bytes[index] == 10 {
            var end = index
            if end > start, bytes[end - 1] == 13 { end -= 1 }
            if end > start { lines.append(bytes[start..<end]) }
            start = index + 1
        }
        guard !lines.isEmpty else { return nil }
        var normalised: [UInt8] = []
        normalised.reserveCapacity(bytes.count + 4)
        for (number, line) in lines.enumerated() {
            var line = Array(line)
            let isLast = number == lines.count - 1
            if line.count >= 4 {
                line[3] = isLast ? UInt8(ascii: " ") : UInt8(ascii: "-")
            } else if line.count == 3, !isLast {
                line.append(UInt8(ascii: "-"))
            }
            normalised.append(contentsOf: line)
            normalised.append(contentsOf: [13, 10])
        }
        parser.feed(normalised[...])
        guard let reply = try? parser.nextReply() else { return nil }
        self = reply
    }

    /// All line texts joined by a single space. Pure; any caller.
    public var text: String { lines.joined(separator: " ") }

    /// "550 5.1.1 text" (code, enhanced code when present, joined text). Pure; any caller.
    public var description: String {
        var result = String(code)
        if let enhancedCode { result += " " + enhancedCode.description }
        let joined = text
        if !joined.isEmpty { result += " " + joined }
        return result
    }

    /// True for 2xx. Pure; any caller.
    public var isPositive: Bool { code >= 200 && code < 300 }
    /// True for 3xx (e.g. 354, 334). Pure; any caller.
    public var isIntermediate: Bool { code >= 300 && code < 400 }
    /// True for 4xx. Pure; any caller.
    public var isTransient: Bool { code >= 400 && code < 500 }
    /// True for 5xx. Pure; any caller.
    public var isPermanent: Bool { code >= 500 && code < 600 }
}
