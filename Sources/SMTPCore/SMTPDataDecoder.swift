/// Streaming decoder for the DATA payload (RFC 5321 4.1.1.4, 4.5.2): removes dot-stuffing and finds the end
/// of the message, which is ONLY `<CRLF>.<CRLF>` (the leading CRLF being the previous line's real ending).
///
/// SMTP smuggling defence: a bare CR or bare LF anywhere never ends or splits the message; it marks the
/// message as rejected (`Problem.bareLineEnding`) and decoding continues to the real end. Lines longer than
/// `maxLineLength` (excluding CRLF) and bodies over `maxSize` are marked likewise; once a problem is found the
/// decoder stops storing bytes but keeps consuming input. Feed it any split of the input.
/// A pure value; does not block; owned by one session.
public struct SMTPDataDecoder: Sendable {
    /// Why a message has to be rejected once it ends.
    public enum Problem: Sendable, Equatable {
        /// A CR not followed by LF, or an LF not preceded by CR.
        case bareLineEnding
        /// A line longer than the limit.
        case lineTooLong
        /// More message bytes than the size limit.
        case tooLarge
        /// The process has no memory left for bodies (the session's budget was refused).
        case resourcesExhausted
    }

    /// Result of one `decode` call.
    public struct Progress: Sendable, Equatable {
        /// Input bytes consumed; everything when not finished, up to and including the final `.CRLF` otherwise.
        public var consumed: Int
        /// True when the end-of-data line was consumed.
        public var finished: Bool
    }

    private enum State: Sendable {
        case lineStart, dot, dotCR, inLine, carriageReturn
    }

    private var state: State = .lineStart
    private var column = 0
    private var carriageReturnPending = false
    /// The first problem found, if any; the message must be rejected when it is set.
    public private(set) var problem: Problem?
    /// The longest line accepted, in octets excluding CRLF.
    public let maxLineLength: Int
    /// The largest message accepted, in decoded octets.
    public let maxSize: Int

    /// Creates a decoder for one message. Does not block.
    public init(maxLineLength: Int, maxSize: Int) {
        self.maxLineLength = maxLineLength
        self.maxSize = maxSize
    }

    /// Decodes `input`, appending message bytes to `body` until a problem is found. Stops right after the
    /// end-of-data line. Does not block.
    ///
    /// Message bytes are copied in runs: a run is only interrupted by a stuffed dot, the end-of-data line or
    /// the end of the input, so a typical chunk costs one scan and one copy.
    public mutating func decode(_ input: UnsafeBufferPointer<UInt8>, into body: inout [UInt8]) -> Progress {
        let count = input.count
        guard let base = input.baseAddress, count > 0 else { return Progress(consumed: 0, finished: false) }
        var index = 0
        var runStart = 0 // input[runStart..<index] is message content not yet appended to body
        scan: while index < count {
            switch state {
            case .inLine:
                let end = Self.lineBreak(in: base, from: index, count: count)
                column += end - index
                if column > maxLineLength { flag(.lineTooLong, &body) }
                index = end
                if end == count { break scan }
                if base[end] == Byte.cr {
                    // The common case in one step: CRLF and a next line that does not start with a
                    // dot stay in the current run (what .carriageReturn and .lineStart would decide).
                    if end + 2 < count, base[end + 1] == Byte.lf, base[end + 2] != Byte.dot {
                        index = end + 2
                        column = 0
                        continue scan
                    }
                    index += 1
                    state = .carriageReturn
                } else {
                    index += 1
                    flag(.bareLineEnding, &body)
                    column = 0
                }
            case .carriageReturn:
                if base[index] == Byte.lf {
                    if carriageReturnPending {
                        // The CR ended the previous input; it is part of this CRLF.
                        carriageReturnPending = false
                        appendCarriageReturn(into: &body)
                    }
                    index += 1
                    column = 0
                    state = .lineStart
                } else {
                    carriageReturnPending = false
                    flag(.bareLineEnding, &body)
                    column += 1
                    state = .inLine
                }
            case .lineStart:
                if base[index] == Byte.dot {
                    append(UnsafeBufferPointer(rebasing: input[runStart..<index]), into: &body)
                    index += 1
                    runStart = index // the dot is either stuffing or part of the end-of-data line
                    state = .dot
                } else {
                    state = .inLine
                }
            case .dot:
                if base[index] == Byte.cr {
                    state = .dotCR
                    index += 1
                } else {
                    column = 1 // the stuffed dot counts towards the wire line length but is not stored
                    state = .inLine
                }
            case .dotCR:
                if base[index] == Byte.lf {
                    state = .lineStart
                    return Progress(consumed: index + 1, finished: true) // ".CR" is not content
                }
                flag(.bareLineEnding, &body)
                column = 2
                state = .inLine
            }
        }
        // Hold back a final CR: whether it is content depends on the next byte.
        var runEnd = count
        if state == .carriageReturn {
            runEnd -= 1
            carriageReturnPending = true
        } else if state == .dotCR {
            runEnd -= 1
        }
        append(UnsafeBufferPointer(rebasing: input[runStart..<max(runStart, runEnd)]), into: &body)
        return Progress(consumed: count, finished: false)
    }

    /// Index of the first CR or LF at or after `start`, or `count`. Skips eight bytes at a time
    /// while none is below 0x0E (one test covers CR and LF; a word holding another control byte,
    /// such as a tab, is checked byte by byte and the skipping goes on after it).
    @inline(__always)
    static func lineBreak(in base: UnsafePointer<UInt8>, from start: Int, count: Int) -> Int {
        var index = start
        let raw = UnsafeRawPointer(base)
        while true {
            while index + 8 <= count {
                let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if (word &- 0x0E0E_0E0E_0E0E_0E0E) & ~word & 0x8080_8080_8080_8080 != 0 { break }
                index += 8
            }
            let end = min(index + 8, count)
            while index < end {
                let byte = base[index]
                if byte == Byte.cr || byte == Byte.lf { return index }
                index += 1
            }
            if index == count { return count }
        }
    }

    /// Marks the message as rejected for `problem` (unless a problem was already found), empties
    /// `body`, and stores nothing more; decoding still runs to the end of the data. Does not block.
    public mutating func reject(_ problem: Problem, body: inout [UInt8]) {
        flag(problem, &body)
    }

    private mutating func flag(_ problem: Problem, _ body: inout [UInt8]) {
        if self.problem == nil {
            self.problem = problem
            body = []
        }
    }

    private mutating func append(_ bytes: UnsafeBufferPointer<UInt8>, into body: inout [UInt8]) {
        guard problem == nil, !bytes.isEmpty else { return }
        if body.count + bytes.count > maxSize {
            flag(.tooLarge, &body)
            return
        }
        body.append(contentsOf: bytes)
    }

    private mutating func appendCarriageReturn(into body: inout [UInt8]) {
        guard problem == nil else { return }
        if body.count + 1 > maxSize {
            flag(.tooLarge, &body)
            return
        }
        body.append(Byte.cr)
    }
}
