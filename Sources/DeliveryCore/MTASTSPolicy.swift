/// An RFC 8461 MTA-STS policy (the body of `https://mta-sts.<domain>/.well-known/mta-sts.txt`):
/// its mode, the MX host patterns it allows and how long it may be cached.
///
/// `parse` follows RFC 8461 §3.2 (`key: value` lines separated by CRLF or LF, `version: STSv1`,
/// `mode`, one or more `mx`, `max_age` of at most 31557600 seconds; unknown keys are ignored, the
/// first occurrence of a repeated non-`mx` key wins). `allows(mxHost:)` matches per §4.1. Pure value;
/// any thread.
public struct MTASTSPolicy: Sendable, Equatable {
    /// `mode:` of the policy (RFC 8461 §5).
    public enum Mode: String, Sendable, Equatable, CaseIterable {
        /// Deliver only to matching MX hosts over TLS with a valid certificate.
        case enforce
        /// Deliver as without a policy, but report what enforcement would have refused.
        case testing
        /// The domain has withdrawn its policy: deliver as without one.
        case none
    }

    /// Why a policy body was rejected (reported as `sts-policy-invalid`).
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// What was wrong.
        public var description: String
        /// Creates the error.
        public init(_ description: String) { self.description = description }
    }

    /// Largest `max_age` allowed (RFC 8461 §3.2: about one year).
    public static let maxAgeLimit = 31_557_600

    /// The policy's mode.
    public var mode: Mode
    /// MX host patterns (`mail.example.com`, `*.example.net`), lowercased, without a trailing dot.
    public var mx: [String]
    /// Seconds the policy may be cached.
    public var maxAge: Int
    /// The policy's lines as received (for the `policy-string` of TLS reports).
    public var lines: [String]

    /// Creates a policy. Pure.
    public init(mode: Mode, mx: [String], maxAge: Int, lines: [String] = []) {
        self.mode = mode
        self.mx = mx.map(MTASTSPolicy.normalized)
        self.maxAge = maxAge
        self.lines = lines
    }

    /// Parses a policy body (RFC 8461 §3.2). Pure.
    public static func parse(_ text: String) -> Result<MTASTSPolicy, ParseError> {
        var version: String?
        var mode: String?
        var maxAge: String?
        var mx: [String] = []
        var lines: [String] = []
        // "\r\n" is one Character in Swift: split on both forms.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            var line = Substring(raw)
            if line.hasSuffix("\r") { line = line.dropLast() }
            guard !trimmed(line).isEmpty else { continue }
            lines.append(String(line))
            guard let colon = line.firstIndex(of: ":") else { return .failure(ParseError("line without ':': \(line)")) }
            let key = String(line[..<colon])
            let value = trimmed(line[line.index(after: colon)...])
            switch key {
            case "version": if version == nil { version = value }
            case "mode": if mode == nil { mode = value }
            case "max_age": if maxAge == nil { maxAge = value }
            case "mx": mx.append(value)
            default:
                // RFC 8461 §3.2: keys are made of letters, digits and '_' (and '-' or '.'); others
                // are an error, unknown well-formed ones are ignored.
                guard !key.isEmpty, key.utf8.allSatisfy({ isKeyByte($0) }) else {
                    return .failure(ParseError("malformed key '\(key)'"))
                }
            }
        }
        guard version == "STSv1" else { return .failure(ParseError("version must be STSv1 (got \(version ?? "none"))")) }
        guard let modeText = mode, let parsedMode = Mode(rawValue: modeText) else {
            return .failure(ParseError("mode must be enforce, testing or none (got \(mode ?? "none"))"))
        }
        guard let ageText = maxAge, !ageText.isEmpty, ageText.count <= 10, ageText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let age = Int(ageText), age <= maxAgeLimit else {
            return .failure(ParseError("max_age must be a number of seconds up to \(maxAgeLimit) (got \(maxAge ?? "none"))"))
        }
        for pattern in mx where !isValidPattern(pattern) {
            return .failure(ParseError("malformed mx pattern '\(pattern)'"))
        }
        if parsedMode != .none && mx.isEmpty {
            return .failure(ParseError("mode \(parsedMode.rawValue) needs at least one mx pattern"))
        }
        return .success(MTASTSPolicy(mode: parsedMode, mx: mx, maxAge: age, lines: lines))
    }

    /// True when `mxHost` matches one of the policy's `mx` patterns (RFC 8461 §4.1). Pure.
    public func allows(mxHost: String) -> Bool {
        mx.contains { MTASTSPolicy.matches(pattern: $0, host: mxHost) }
    }

    /// RFC 8461 §4.1: a pattern is a host name, matched without regard to case, or `*.` and a
    /// domain, matching exactly one more label on the left (`*.example.com` matches
    /// `mx.example.com`, not `example.com` nor `a.b.example.com`). Pure.
    public static func matches(pattern: String, host: String) -> Bool {
        let p = normalized(pattern)
        let h = normalized(host)
        guard !p.isEmpty, !h.isEmpty else { return false }
        if p.hasPrefix("*.") {
            let suffix = p.dropFirst(1) // ".example.com"
            guard h.hasSuffix(suffix) else { return false }
            let label = h.dropLast(suffix.count)
            return !label.isEmpty && !label.contains(".")
        }
        return p == h
    }

    /// Lowercased, without a trailing dot. Pure.
    static func normalized(_ name: String) -> String {
        let lower = name.lowercased()
        return lower.hasSuffix(".") ? String(lower.dropLast()) : lower
    }

    private static func isValidPattern(_ pattern: String) -> Bool {
        var rest = Substring(normalized(pattern))
        if rest.hasPrefix("*.") { rest = rest.dropFirst(2) }
        let labels = rest.split(separator: ".", omittingEmptySubsequences: false)
        return !rest.isEmpty && labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.utf8.allSatisfy { isLabelByte($0) }
        }
    }

    private static func isKeyByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D || b == 0x2E
    }

    private static func isLabelByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b >= 0x80
    }

    static func trimmed(_ s: Substring) -> String {
        var t = s
        while let f = t.first, f == " " || f == "\t" { t = t.dropFirst() }
        while let l = t.last, l == " " || l == "\t" { t = t.dropLast() }
        return String(t)
    }
}
