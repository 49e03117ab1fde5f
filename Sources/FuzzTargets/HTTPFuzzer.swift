import HTTPCore

/// Fuzz target for the HTTP/1.1 parsers: `HTTPRequestParser` (admin API server side) or, when bit 0 of
/// byte 0 is set, `HTTPResponseParser` (webhook client side). Pure.
///
/// Input: byte 0 = mode, byte 1 = chunk size, rest = bytes from the peer. Oracles: the events are the same
/// whether the bytes come in one read or in chunks; a parsed request, serialized again, parses back to the
/// same method, target and body; query strings parse without trapping.
public enum HTTPFuzzer {
    /// Runs one input; traps on a broken invariant.
    public static func run(_ data: [UInt8]) {
        var input = FuzzInput(data)
        let mode = input.byte()
        let chunkSize = Int(input.byte() % 64) + 1
        let payload = input.rest
        if mode & 1 == 0 {
            let whole = requests([payload], limits: mode & 2 != 0)
            let split = requests(FuzzInput.chunks(payload, size: chunkSize), limits: mode & 2 != 0)
            precondition(sameOutcome(whole, split), "HTTP request events depend on how the input is split:\n  one read: \(whole)\n  chunks:   \(split)")
            for case .request(let request) in whole {
                _ = request.path
                _ = request.queryItems
                _ = request.keepAlive
                let again = requests([request.serialize()[...]], limits: false)
                guard case .request(let reparsed)? = again.first else {
                    preconditionFailure("a parsed request does not parse again once serialized: \(again)")
                }
                precondition(reparsed.method == request.method && reparsed.target == request.target
                             && reparsed.body == request.body, "request changed by a serialize/parse round trip")
            }
        } else {
            let head = mode & 4 != 0
            let whole = responses([payload], head: head)
            let split = responses(FuzzInput.chunks(payload, size: chunkSize), head: head)
            precondition(sameOutcome(whole, split), "HTTP response events depend on how the input is split:\n  one read: \(whole)\n  chunks:   \(split)")
        }
    }

    /// Same messages in the same order and the same end (error or not). Which error is reported may depend
    /// on the split (a head over the limit is noticed before its end arrives, a bare CR once it has; found
    /// by this target); both close the connection.
    static func sameOutcome(_ a: [HTTPRequestParser.Event], _ b: [HTTPRequestParser.Event]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in
            if case .error = x, case .error = y { return true }
            return x == y
        }
    }

    static func sameOutcome(_ a: [HTTPResponseParser.Event], _ b: [HTTPResponseParser.Event]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in
            if case .error = x, case .error = y { return true }
            return x == y
        }
    }

    static func requests(_ pieces: [ArraySlice<UInt8>], limits: Bool) -> [HTTPRequestParser.Event] {
        var parser = limits ? HTTPRequestParser(maxHeaderBytes: 64, maxBodyBytes: 16) : HTTPRequestParser()
        var events: [HTTPRequestParser.Event] = []
        for piece in pieces {
            parser.feed(piece)
            _ = parser.takeExpectContinue()
            while true {
                let event = parser.next()
                if event == .needMore { break }
                events.append(event)
                if case .error = event { return events }
            }
        }
        return events
    }

    static func responses(_ pieces: [ArraySlice<UInt8>], head: Bool) -> [HTTPResponseParser.Event] {
        var parser = HTTPResponseParser(maxHeaderBytes: 256, maxBodyBytes: 4096)
        var events: [HTTPResponseParser.Event] = []
        for piece in pieces {
            parser.feed(piece)
            while true {
                let event = parser.next(headRequest: head)
                if event == .needMore { break }
                events.append(event)
                if case .error = event { return events }
            }
        }
        events.append(parser.finish())
        return events
    }
}
