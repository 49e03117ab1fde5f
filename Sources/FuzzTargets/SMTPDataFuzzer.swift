import SMTPCore

/// Fuzz target for the DATA and BDAT body decoders: `SMTPDataDecoder` (dot-unstuffing, end of data,
/// smuggling defence) and `SMTPLineChecker`, plus `MessageAssembler.headerSection`. Pure.
///
/// Input: byte 0 = line limit, byte 1 = chunk size, byte 2 = size limit, rest = DATA payload. The oracle
/// is split invariance: decoding the payload in chunks must give the same body, problem and end position
/// as decoding it in one piece, and the body never exceeds the size limit.
public enum SMTPDataFuzzer {
    /// Runs one input; traps on a broken invariant.
    public static func run(_ data: [UInt8]) {
        var input = FuzzInput(data)
        let maxLineLength = Int(input.byte()) + 1
        let chunkSize = Int(input.byte() % 64) + 1
        let maxSize = Int(input.byte()) * 8
        let payload = Array(input.rest)

        let whole = decode([payload[...]], maxLineLength: maxLineLength, maxSize: maxSize)
        let split = decode(FuzzInput.chunks(payload[...], size: chunkSize), maxLineLength: maxLineLength, maxSize: maxSize)
        // Which problem is reported first may depend on the split (a size overrun is noticed when a run is
        // stored, a bare LF while scanning; found by this target): both reject the message, so only
        // "rejected or not" and, for accepted messages, the body must agree.
        precondition((whole.problem == nil) == (split.problem == nil), "DATA rejection depends on how the input is split")
        if whole.problem == nil {
            precondition(whole.body == split.body, "DATA body depends on how the input is split")
        }
        precondition(whole.consumed == split.consumed, "end of DATA depends on how the input is split")
        precondition(whole.finished == split.finished, "end of DATA found in one split only")
        precondition(whole.problem != nil || whole.body.count <= maxSize, "body over the size limit without a problem")
        if whole.finished {
            precondition(payload[..<whole.consumed].suffix(3) == [0x2E, 0x0D, 0x0A], "DATA ended without .CRLF")
        }
        if whole.problem == nil && whole.finished {
            precondition(hasOnlyCRLF(whole.body), "bare CR or LF accepted")
        }
        _ = MessageAssembler.headerSection(of: whole.body, contains: "message-id")
        _ = MessageAssembler.headerSection(of: payload, contains: "date")

        let checkWhole = check([payload[...]], maxLineLength: maxLineLength)
        let checkSplit = check(FuzzInput.chunks(payload[...], size: chunkSize), maxLineLength: maxLineLength)
        precondition(checkWhole == checkSplit, "BDAT line check depends on how the input is split")
    }

    struct Result {
        var body: [UInt8] = []
        var problem: SMTPDataDecoder.Problem?
        var consumed = 0
        var finished = false
    }

    static func decode(_ pieces: [ArraySlice<UInt8>], maxLineLength: Int, maxSize: Int) -> Result {
        var decoder = SMTPDataDecoder(maxLineLength: maxLineLength, maxSize: maxSize)
        var result = Result()
        for piece in pieces {
            let progress = piece.withUnsafeBufferPointer { decoder.decode($0, into: &result.body) }
            precondition(progress.consumed >= 0 && progress.consumed <= piece.count, "consumed out of range")
            result.consumed += progress.consumed
            if progress.finished {
                result.finished = true
                break
            }
            precondition(progress.consumed == piece.count, "unfinished decode left input unconsumed")
        }
        result.problem = decoder.problem
        return result
    }

    static func check(_ pieces: [ArraySlice<UInt8>], maxLineLength: Int) -> SMTPDataDecoder.Problem? {
        var checker = SMTPLineChecker(maxLineLength: maxLineLength)
        for piece in pieces { piece.withUnsafeBufferPointer { checker.check($0) } }
        checker.finish()
        return checker.problem
    }

    static func hasOnlyCRLF(_ body: [UInt8]) -> Bool {
        for (index, byte) in body.enumerated() {
            if byte == 0x0D && (index + 1 == body.count || body[index + 1] != 0x0A) { return false }
            if byte == 0x0A && (index == 0 || body[index - 1] != 0x0D) { return false }
        }
        return true
    }
}
