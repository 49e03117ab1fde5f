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
    public mutating func decode(_ input: UnsafeBufferPointer<UInt8>, into body: inout [UInt8]) -> Progress {
        let count = input.count
        var index = 0
        while index < count {
            switch state {
            case .inLine:
                var end = index
                while end < count {
                    let byte = input[end]
                    if byte == Byte.cr || byte == Byte.lf { break }
                    end += 1
                }
                if end > index {
                    column += end - index
                    if column > maxLineLength { flag(.lineTooLong, &body) }
                    emit(UnsafeBufferPointer(rebasing: input[index..<end]), into: &body)
                }
                if end == count { return Progress(consumed: count, finished: false) }
                if input[end] == Byte.cr {
                    state = .carriageReturn
                } else {
                    flag(.bareLineEnding, &body)
                    column = 0
                }
                index = end + 1
            case .carriageReturn:
                if input[index] == Byte.lf {
                    emitLineEnd(into: &body)
                    column = 0
                    state = .lineStart
                    index += 1
                } else {
                    flag(.bareLineEnding, &body)
                    column += 1
                    state = .inLine
                }
            case .lineStart:
                if input[index] == Byte.dot {
                    state = .dot
                    index += 1
                } else {
                    state = .inLine
                }
            case .dot:
                if input[index] == Byte.cr {
                    state = .dotCR
                    index += 1
                } else {
                    column = 1 // the stuffed dot counts towards the wire line length but is not stored
                    state = .inLine
                }
            case .dotCR:
                if input[index] == Byte.lf {
                    state = .lineStart
                    return Progress(consumed: index + 1, finished: true)
                }
                flag(.bareLineEnding, &body)
                column = 2
                state = .inLine
            }
        }
        return Progress(consumed: count, finished: false)
    }

    private mutating func flag(_ problem: Problem, _ body: inout [UInt8]) {
        if self.problem == nil {
            self.problem = problem
            body = []
        }
    }

    private mutating func emit(_ bytes: UnsafeBufferPointer<UInt8>, into body: inout [UInt8]) {
        guard problem == nil else { return }
        if body.count + bytes.count > maxSize {
            flag(.tooLarge, &body)
            return
        }
        body.append(contentsOf: bytes)
    }

    private mutating func emitLineEnd(into body: inout [UInt8]) {
        guard problem == nil else { return }
        if body.count + 2 > maxSize {
            flag(.tooLarge, &body)
            return
        }
        body.append(Byte.cr)
        body.append(Byte.lf)
    }
}
