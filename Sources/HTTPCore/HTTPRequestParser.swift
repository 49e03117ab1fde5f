/// Incremental HTTP/1.1 request parser for a server connection: feed bytes as they arrive, then call
/// `next()` until it returns `.needMore`. Handles requests split across reads and several pipelined
/// requests in one read.
///
/// Limits: header section `maxHeaderBytes` (default 16 KiB, else 431), body `maxBodyBytes` (default
/// 1 MiB, else 413). Bodies need Content-Length; chunked request bodies get 411, other transfer
/// codings 501. Only CRLF line endings are accepted (bare CR/LF are 400, preventing request
/// smuggling through lenient intermediaries). After `.error` the parser stays failed; answer with
/// `error.status` and close. Pure value; owned by one connection, no locking.
public struct HTTPRequestParser: Sendable {
    /// Result of `next()`.
    public enum Event: Sendable, Equatable {
        /// A complete request.
        case request(HTTPRequest)
        /// Not enough bytes buffered for the next request.
        case needMore
        /// Malformed or over-limit input; respond with `error.status` and close.
        case error(HTTPParseError)
    }

    /// Maximum header section size in bytes (request line included).
    public let maxHeaderBytes: Int
    /// Maximum body size in bytes.
    public let maxBodyBytes: Int

    var input = InputBuffer()
    var pending: (HTTPRequest, Int)? = nil
    var failure: HTTPParseError? = nil
    var continueWanted = false

    /// Creates a parser with the given limits.
    public init(maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 1024 * 1024) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
    }

    /// Appends received bytes. Does not parse; call `next()`.
    public mutating func feed(_ bytes: some Sequence<UInt8>) { input.append(bytes) }

    /// True once (then false) when the request whose body is being awaited sent
    /// `Expect: 100-continue`: the server should write `HTTPResponse.continueLine` so the client
    /// (e.g. curl with bodies over 1 KiB) sends the body without waiting a second. Check after `next()`
    /// returned `.needMore`.
    public mutating func takeExpectContinue() -> Bool {
        defer { continueWanted = false }
        return continueWanted && pending != nil
    }

    /// Bytes received but not yet consumed by a returned request.
    public var bufferedByteCount: Int { input.readable }

    /// Returns the next complete request, `.needMore`, or `.error`.
    public mutating func next() -> Event {
        if let f = failure { return .error(f) }
        if pending == nil {
            // RFC 9112 §2.2: ignore empty lines before a request line.
            while input.readable >= 2 && input.bytes[input.start] == 0x0D && input.bytes[input.start + 1] == 0x0A {
                input.consume(2)
            }
            guard let headEnd = input.findHeadEnd() else {
                if input.readable > maxHeaderBytes {
                    return fail(.headersTooLarge, "header section exceeds \(maxHeaderBytes) bytes")
                }
                return .needMore
            }
            if headEnd - input.start > maxHeaderBytes {
                return fail(.headersTooLarge, "header section exceeds \(maxHeaderBytes) bytes")
            }
            switch parseHead(input.bytes[input.start..<(headEnd - 4)]) {
            case .failure(let e):
                failure = e
                return .error(e)
            case .success(let (request, length)):
                input.consume(headEnd - input.start)
                pending = (request, length)
                continueWanted = length > 0 && request.minorVersion == 1
                    && request.headers.contains("Expect", token: "100-continue")
            }
        }
        guard let (request, length) = pending else { return .needMore }
        guard input.readable >= length else { return .needMore }
        var r = request
        if length > 0 { r.body = Array(input.bytes[input.start..<(input.start + length)]) }
        input.consume(length)
        pending = nil
        continueWanted = false
        return .request(r)
    }

    mutating func fail(_ code: HTTPParseError.Code, _ reason: String) -> Event {
        let e = HTTPParseError(code, reason)
        failure = e
        return .error(e)
    }

    func parseHead(_ head: ArraySlice<UInt8>) -> Result<(HTTPRequest, Int), HTTPParseError> {
        guard let lines = HTTPHead.lines(head), let requestLine = lines.first else {
            return .failure(HTTPParseError(.badRequest, "bare CR or LF in request head"))
        }
        let parts = requestLine.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, HTTPHead.isToken(parts[0]), !parts[1].isEmpty else {
            return .failure(HTTPParseError(.badRequest, "malformed request line"))
        }
        let target = parts[1]
        guard target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(HTTPParseError(.badRequest, "invalid character in request target"))
        }
        guard target.first == 0x2F || target.elementsEqual("*".utf8)
                || target.starts(with: "http://".utf8) || target.starts(with: "https://".utf8) else {
            return .failure(HTTPParseError(.badRequest, "request target must be a path"))
        }
        let version = parts[2]
        let minor: Int
        if version.elementsEqual("HTTP/1.1".utf8) {
            minor = 1
        } else if version.elementsEqual("HTTP/1.0".utf8) {
            minor = 0
        } else if version.count == 8, version.starts(with: "HTTP/".utf8),
                  version[version.startIndex + 6] == 0x2E,
                  (0x30...0x39).contains(version[version.startIndex + 5]),
                  (0x30...0x39).contains(version[version.startIndex + 7]) {
            return .failure(HTTPParseError(.versionNotSupported, "only HTTP/1.0 and HTTP/1.1 are supported"))
        } else {
            return .failure(HTTPParseError(.badRequest, "malformed HTTP version"))
        }
        let headers: HTTPHeaders
        switch HTTPHead.fields(lines.dropFirst()) {
        case .failure(let e): return .failure(e)
        case .success(let h): headers = h
        }
        let te = headers.values("Transfer-Encoding")
        if !te.isEmpty {
            if headers["Content-Length"] != nil {
                return .failure(HTTPParseError(.badRequest, "both Transfer-Encoding and Content-Length"))
            }
            if headers.contains("Transfer-Encoding", token: "chunked") {
                return .failure(HTTPParseError(.lengthRequired, "chunked request bodies are not supported; send Content-Length"))
            }
            return .failure(HTTPParseError(.notImplemented, "unsupported Transfer-Encoding"))
        }
        let length: Int
        switch HTTPHead.contentLength(headers) {
        case .failure(let e): return .failure(e)
        case .success(let n): length = n ?? 0
        }
        if length > maxBodyBytes {
            return .failure(HTTPParseError(.bodyTooLarge, "body exceeds \(maxBodyBytes) bytes"))
        }
        let request = HTTPRequest(method: String(decoding: parts[0], as: UTF8.self),
                                  target: String(decoding: target, as: UTF8.self),
                                  headers: headers, body: [], minorVersion: minor)
        return .success((request, length))
    }
}
