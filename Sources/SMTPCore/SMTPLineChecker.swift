/// Checks BDAT content of a non-binary body (7BIT, 8BITMIME) for line structure, over any split of the input:
/// every CR must be followed by LF, no LF may stand alone, and no line may exceed `maxLineLength` octets
/// (excluding CRLF). Such content is later relayed with DATA, where a bare CR or LF could end or split the
/// message at the next hop (SMTP smuggling), so it is rejected like the same content sent with DATA.
/// A pure value; does not block; owned by one session.
public struct SMTPLineChecker: Sendable {
    /// The longest line accepted, in octets excluding CRLF.
    public let maxLineLength: Int
    /// The first problem found, if any.
    public private(set) var problem: SMTPDataDecoder.Problem?
    private var column = 0
    private var afterCarriageReturn = false

    /// Creates a checker for one message. Does not block.
    public init(maxLineLength: Int) {
        self.maxLineLength = maxLineLength
    }

    /// Checks the next piece of content. Does not block.
    public mutating func check(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard problem == nil, let base = bytes.baseAddress else { return }
        let count = bytes.count
        var index = 0
        while index < count {
            if afterCarriageReturn {
                guard base[index] == Byte.lf else {
                    problem = .bareLineEnding
                    return
                }
                afterCarriageReturn = false
                column = 0
                index += 1
                continue
            }
            let end = SMTPDataDecoder.lineBreak(in: base, from: index, count: count)
            column += end - index
            if column > maxLineLength {
                problem = .lineTooLong
                return
            }
            if end == count { return }
            if base[end] == Byte.lf {
                problem = .bareLineEnding
                return
            }
            afterCarriageReturn = true
            index = end + 1
        }
    }

    /// Marks the end of the content: a final CR without its LF is bare. Does not block.
    public mutating func finish() {
        if problem == nil && afterCarriageReturn { problem = .bareLineEnding }
    }
}
