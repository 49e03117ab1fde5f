/// Incremental HTTP/1.x response parser for a client (admin CLI, webhooks): status line, headers, and
/// a body delimited by Content-Length, chunked transfer coding, or the end of the connection.
///
/// Feed bytes as they arrive and call `next()`; at end of stream call `finish()` (completes a body
/// that runs until close, or reports truncation). Interim 1xx responses (except 101) are skipped.
/// Pass `headRequest: true` when the outstanding request was HEAD (its response has no body).
/// Pure value; owned by one connection.
public struct HTTPResponseParser: Sendable {
    /// Result of `next()` / `finish()`.
    public enum Event: Sendable, Equatable {
        /// A complete response.
        case response(HTTPResponse)
        /// More bytes are needed.
        case needMore
        /// Malformed, over-limit or truncated input; close the connection.
        case error(HTTPParseError)
    }

    /// Maximum header section size in bytes.
    public let maxHeaderBytes: Int
    /// Maximum body size in bytes.
    public let maxBodyBytes: Int

    enum Framing: Sendable {
        case length(Int)
        case chunked
        case untilClose
    }

    enum ChunkState: Sendable {
        case size
        case data(Int)
        case dataEnd
        case trailers
    }

    var input = InputBuffer()
    var head: HTTPResponse? = nil
    var framing: Framing = .length(0)
    var chunkState: ChunkState = .size
    var body: [UInt8] = []
    var failure: HTTPParseError? = nil

    /// Creates a parser with the given limits (defaults: 16 KiB headers, 16 MiB body).
    public init(maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 16 * 1024 * 1024) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
    }

    /// Appends received bytes.
    public mutating func feed(_ bytes: some Sequence<UInt8>) { input.append(bytes) }

    /// Returns the next complete response, `.needMore` or `.error`.
    public mutating func next(headRequest: Bool = false) -> Event {
        if let f = failure { return .error(f) }
        while head == nil {
            guard let headEnd = input.findHeadEnd() else {
                if input.readable > maxHeaderBytes { return fail(.badResponse, "response header section too large") }
                return .needMore
            }
            // A head that arrived complete in one read must respect the limit too (found by FuzzHTTP).
            if headEnd - input.start > maxHeaderBytes { return fail(.badResponse, "response header section too large") }
            switch parseHead(input.bytes[input.start..<(headEnd - 4)], headRequest: headRequest) {
            case .failure(let e):
                failure = e
                return .error(e)
            case .success(let r):
                input.consume(headEnd - input.start)
                if (100..<200).contains(r.status) && r.status != 101 { continue } // interim response
                head = r
                body = []
                chunkState = .size
            }
        }
        switch framing {
        case .length(let n):
            guard input.readable >= n else { return .needMore }
            body = Array(input.bytes[input.start..<(input.start + n)])
            input.consume(n)
            return complete()
        case .untilClose:
            if input.readable > maxBodyBytes { return fail(.bodyTooLarge, "response body too large") }
            return .needMore
        case .chunked:
            return parseChunks()
        }
    }

    /// Signals end of stream: completes an until-close body; otherwise reports `.truncated` if a
    /// response was in progress, or `.needMore` when idle (clean close).
    public mutating func finish() -> Event {
        if let f = failure { return .error(f) }
        if head != nil, case .untilClose = framing {
            body = Array(input.bytes[input.start...])
            input.consume(input.readable)
            return complete()
        }
        if head != nil || input.readable > 0 { return fail(.truncated, "connection closed mid-response") }
        return .needMore
    }

    mutating func complete() -> Event {
        var r = head!
        r.body = body
        head = nil
        body = []
        return .response(r)
    }

    mutating func fail(_ code: HTTPParseError.Code, _ reason: String) -> Event {
        let e = HTTPParseError(code, reason)
        failure = e
        return .error(e)
    }

    mutating func parseChunks() -> Event {
        while true {
            switch chunkState {
            case .size:
                // Limits hold whether or not the line end came in the same read (+ 1: a waiting CR; FuzzHTTP).
                guard let eol = lineEnd() else {
                    if input.readable > 1024 + 1 { return fail(.badResponse, "chunk size line too long") }
                    return .needMore
                }
                if eol - input.start > 1024 { return fail(.badResponse, "chunk size line too long") }
                var line = input.bytes[input.start..<eol]
                if let semi = line.firstIndex(of: 0x3B) { line = line[line.startIndex..<semi] } // extensions
                while let l = line.last, l == 0x20 || l == 0x09 { line = line.dropLast() }
                guard !line.isEmpty, line.count <= 15 else { return fail(.badResponse, "invalid chunk size") }
                var size = 0
                for c in line {
                    guard let v = HTTPQuery.hex(c) else { return fail(.badResponse, "invalid chunk size") }
                    size = size << 4 | Int(v)
                }
                input.consume(eol + 2 - input.start)
                if size == 0 {
                    chunkState = .trailers
                } else {
                    if body.count + size > maxBodyBytes { return fail(.bodyTooLarge, "response body too large") }
                    chunkState = .data(size)
                }
            case .data(let remaining):
                let available = min(remaining, input.readable)
                if available == 0 { return .needMore }
                body.append(contentsOf: input.bytes[input.start..<(input.start + available)])
                input.consume(available)
                chunkState = remaining == available ? .dataEnd : .data(remaining - available)
            case .dataEnd:
                guard input.readable >= 2 else { return .needMore }
                guard input.bytes[input.start] == 0x0D && input.bytes[input.start + 1] == 0x0A else {
                    return fail(.badResponse, "missing CRLF after chunk data")
                }
                input.consume(2)
                chunkState = .size
            case .trailers:
                guard let eol = lineEnd() else {
                    if input.readable > maxHeaderBytes + 1 { return fail(.badResponse, "trailer section too large") }
                    return .needMore
                }
                if eol - input.start > maxHeaderBytes { return fail(.badResponse, "trailer section too large") }
                let empty = eol == input.start
                input.consume(eol + 2 - input.start)
                if empty { return complete() }
            }
        }
    }

    /// Index of the CR of the next CRLF in the unconsumed input, or nil.
    func lineEnd() -> Int? {
        var i = input.start
        while i + 1 < input.bytes.count {
            if input.bytes[i] == 0x0D && input.bytes[i + 1] == 0x0A { return i }
            i += 1
        }
        return nil
    }

    mutating func parseHead(_ bytes: ArraySlice<UInt8>, headRequest: Bool) -> Result<HTTPResponse, HTTPParseError> {
        guard let lines = HTTPHead.lines(bytes), let statusLine = lines.first else {
            return .failure(HTTPParseError(.badResponse, "bare CR or LF in response head"))
        }
        // HTTP/1.x SP 3DIGIT SP reason
        guard statusLine.count >= 12, statusLine.starts(with: "HTTP/1.".utf8),
              statusLine[statusLine.startIndex + 8] == 0x20 else {
            return .failure(HTTPParseError(.badResponse, "malformed status line"))
        }
        let codeStart = statusLine.startIndex + 9
        var status = 0
        for c in statusLine[codeStart..<(codeStart + 3)] {
            guard c >= 0x30 && c <= 0x39 else { return .failure(HTTPParseError(.badResponse, "malformed status code")) }
            status = status * 10 + Int(c - 0x30)
        }
        guard status >= 100 else { return .failure(HTTPParseError(.badResponse, "malformed status code")) }
        var reason = ""
        if statusLine.count > 12 {
            guard statusLine[codeStart + 3] == 0x20 else {
                return .failure(HTTPParseError(.badResponse, "malformed status line"))
            }
            reason = String(decoding: statusLine[(codeStart + 4)...], as: UTF8.self)
        }
        let headers: HTTPHeaders
        switch HTTPHead.fields(lines.dropFirst()) {
        case .failure(let e): return .failure(HTTPParseError(.badResponse, e.reason))
        case .success(let h): headers = h
        }
        if headRequest || HTTPResponse.statusHasNoBody(status) {
            framing = .length(0)
        } else if !headers.values("Transfer-Encoding").isEmpty {
            guard let last = headers.values("Transfer-Encoding").last?.split(separator: ",").last,
                  HTTPHeaders.equalsIgnoringCase(trimOWS(last), "chunked") else {
                framing = .untilClose
                return .success(HTTPResponse(status: status, reason: reason, headers: headers))
            }
            framing = .chunked
        } else {
            switch HTTPHead.contentLength(headers) {
            case .failure(let e): return .failure(HTTPParseError(.badResponse, e.reason))
            case .success(let n?):
                if n > maxBodyBytes { return .failure(HTTPParseError(.bodyTooLarge, "response body too large")) }
                framing = .length(n)
            case .success(nil):
                framing = .untilClose
            }
        }
        return .success(HTTPResponse(status: status, reason: reason, headers: headers))
    }
}
