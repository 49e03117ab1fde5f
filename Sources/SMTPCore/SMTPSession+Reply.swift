extension SMTPSession {
    /// One SMTP server reply: a three-digit code, an optional RFC 3463 enhanced status code and one or more
    /// text lines. Encodes to the wire form, using `code-` on every line but the last (RFC 5321 4.2.1).
    ///
    /// A pure value; does not block; any caller may use it.
    public struct Reply: Sendable, Equatable, CustomStringConvertible {
        /// The three-digit reply code, e.g. 250.
        public var code: Int
        /// The RFC 3463 enhanced status code ("2.1.0"), or nil where RFC 2034 omits it (greeting, EHLO, 334, 354).
        public var enhancedCode: String?
        /// The text lines; at least one (an empty string gives a bare code line).
        public var lines: [String]

        /// Creates a reply with several lines. Does not block.
        public init(_ code: Int, _ enhancedCode: String?, lines: [String]) {
            self.code = code
            self.enhancedCode = enhancedCode
            self.lines = lines.isEmpty ? [""] : lines
        }

        /// Creates a single-line reply. Does not block.
        public init(_ code: Int, _ enhancedCode: String?, _ text: String) {
            self.init(code, enhancedCode, lines: [text])
        }

        /// True for 4xx and 5xx replies.
        public var isFailure: Bool { code >= 400 }

        /// The first line's text, used for logs.
        public var text: String { lines[0] }

        /// The reply as it appears on the wire (lines end in CRLF).
        public var description: String { String(decoding: bytes, as: UTF8.self) }

        /// The encoded reply (every line ends in CRLF). Does not block.
        public var bytes: [UInt8] {
            var out: [UInt8] = []
            append(to: &out)
            return out
        }

        /// Appends the encoded reply to `buffer`. Control characters in the text are replaced by `?` so that
        /// client-supplied text can never inject a line break. Does not block.
        public func append(to buffer: inout [UInt8]) {
            let digits: [UInt8] = [
                UInt8(truncatingIfNeeded: 48 + (code / 100) % 10),
                UInt8(truncatingIfNeeded: 48 + (code / 10) % 10),
                UInt8(truncatingIfNeeded: 48 + code % 10),
            ]
            for (index, line) in lines.enumerated() {
                buffer.append(contentsOf: digits)
                buffer.append(index == lines.count - 1 ? 0x20 : 0x2D)
                if let enhancedCode {
                    buffer.append(contentsOf: enhancedCode.utf8)
                    if !line.isEmpty { buffer.append(0x20) }
                }
                for byte in line.utf8 {
                    buffer.append(byte < 0x20 || byte == 0x7F ? 0x3F : byte)
                }
                buffer.append(0x0D)
                buffer.append(0x0A)
            }
        }
    }
}
