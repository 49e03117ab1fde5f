/// Incremental parser for server replies (RFC 5321 section 4.2): feed it bytes as they arrive,
/// take complete replies out. Handles multi-line replies (`250-...` continuations), CRLF or bare LF
/// line ends, and strips RFC 3463 enhanced codes from every line.
///
/// Pure value; not thread-safe, owned by one session.
public struct SMTPReplyParser: Sendable {
    /// Longest accepted reply line in bytes (RFC 5321 allows 512; be lenient).
    public var maxLineLength: Int
    /// Most lines accepted in one reply.
    public var maxLines: Int

    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var pendingLines: [String] = []
    private var pendingCode = 0
    private var pendingEnhanced: EnhancedStatusCode?

    /// Creates an empty parser. Pure; any caller.
    public init(maxLineLength: Int = 8192, maxLines: Int = 1000) {
        self.maxLineLength = maxLineLength
        self.maxLines = maxLines
    }

    /// Number of received bytes not yet consumed by a complete reply. Pure; any caller.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Appends received bytes. Pure; the owning session calls it.
    public mutating func feed(_ bytes: ArraySlice<UInt8>) {
        if readIndex > 0, readIndex >= buffer.count / 2 {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Drops every buffered byte and any partial reply (used after STARTTLS, where bytes received
    /// before the handshake must not be trusted). Pure; the owning session calls it.
    public mutating func discardBuffered() {
        buffer.removeAll(keepingCapacity: true)
        readIndex = 0
        pendingLines.removeAll()
        pendingCode = 0
        pendingEnhanced = nil
    }

    /// Returns the next complete reply, nil when more bytes are needed, or throws on a malformed,
    /// over-long or over-large reply (the connection should then be closed). Pure; owner calls it.
    public mutating func nextReply() throws(DeliveryError) -> SMTPReply? {
        while true {
            guard let newline = firstNewline() else {
                // + 1: a line of maxLineLength bytes may wait here with its CR, before its LF (found by FuzzSMTPReply).
                if buffer.count - readIndex > maxLineLength + 1 {
                    throw DeliveryError(.replyLineTooLong, "server reply line exceeds \(maxLineLength) bytes")
                }
                return nil
            }
            var end = newline
            if end > readIndex, buffer[end - 1] == 13 { end -= 1 }
            let line = buffer[readIndex..<end]
            readIndex = newline + 1
            if line.count > maxLineLength {
                throw DeliveryError(.replyLineTooLong, "server reply line exceeds \(maxLineLength) bytes")
            }
            if let reply = try consume(line) { return reply }
        }
    }

    private func firstNewline() -> Int? {
        var index = readIndex
        let end = buffer.count
        return buffer.withUnsafeBufferPointer { pointer -> Int? in
            while index < end {
                if pointer[index] == 10 { return index }
                index += 1
            }
            return nil
        }
    }

    private mutating func consume(_ line: ArraySlice<UInt8>) throws(DeliveryError) -> SMTPReply? {
        let start = line.startIndex
        guard line.count >= 3,
              line[start] >= UInt8(ascii: "2"), line[start] <= UInt8(ascii: "5"),
              line[start + 1] >= 48, line[start + 1] <= 57,
              line[start + 2] >= 48, line[start + 2] <= 57 else {
            throw DeliveryError(.malformedReply, "reply line does not start with a reply code",
                                context: String(decoding: line.prefix(64), as: UTF8.self))
        }
        let code = Int(line[start] - 48) * 100 + Int(line[start + 1] - 48) * 10 + Int(line[start + 2] - 48)
        var isLast = true
        var textStart = start + 3
        if line.count > 3 {
            let separator = line[start + 3]
            if separator == UInt8(ascii: "-") {
                isLast = false
            } else if separator != UInt8(ascii: " ") {
                throw DeliveryError(.malformedReply, "reply code not followed by space or hyphen",
                                    context: String(decoding: line.prefix(64), as: UTF8.self))
            }
            textStart += 1
        }
        if pendingLines.isEmpty { pendingCode = code }
        var text = line[textStart...]
        // Strip an enhanced code whose class matches the reply class.
        if let (enhanced, length) = EnhancedStatusCode.parse(text), enhanced.statusClass == code / 100 {
            let after = text.startIndex + length
            if after == text.endIndex || text[after] == UInt8(ascii: " ") {
                if pendingLines.isEmpty { pendingEnhanced = enhanced }
                text = text[(after == text.endIndex ? after : after + 1)...]
            }
        }
        if pendingLines.count >= maxLines {
            throw DeliveryError(.replyTooManyLines, "server reply has more than \(maxLines) lines")
        }
        pendingLines.append(String(decoding: text, as: UTF8.self))
        guard isLast else { return nil }
        let reply = SMTPReply(code: pendingCode, enhancedCode: pendingEnhanced, lines: pendingLines)
        pendingLines.removeAll(keepingCapacity: true)
        pendingEnhanced = nil
        return reply
    }
}
