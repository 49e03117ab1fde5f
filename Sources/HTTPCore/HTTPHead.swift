/// Shared low-level parsing of an HTTP message head (start line + header fields). Internal.
enum HTTPHead {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A

    /// Index just past the first CRLFCRLF at or after `from` (scanning from `from - 3` so a split
    /// terminator is found), or nil.
    static func findEnd(_ buf: [UInt8], start: Int, from: Int) -> Int? {
        var i = max(start, from - 3)
        let end = buf.count - 3
        while i < end {
            if buf[i + 3] == lf {
                if buf[i] == cr && buf[i + 1] == lf && buf[i + 2] == cr { return i + 4 }
                i += 1
            } else if buf[i + 3] == cr {
                i += 1
            } else {
                i += 4 // buf[i+3] is neither CR nor LF, so no terminator can start at i...i+3
            }
        }
        return nil
    }

    /// tchar per RFC 9110 §5.6.2.
    static let tchar: [Bool] = {
        var t = [Bool](repeating: false, count: 256)
        for c in UInt8(0x30)...0x39 { t[Int(c)] = true }
        for c in UInt8(0x41)...0x5A { t[Int(c)] = true }
        for c in UInt8(0x61)...0x7A { t[Int(c)] = true }
        for c in "!#$%&'*+-.^_`|~".utf8 { t[Int(c)] = true }
        return t
    }()

    static func isToken(_ s: ArraySlice<UInt8>) -> Bool {
        !s.isEmpty && s.allSatisfy { tchar[Int($0)] }
    }

    /// Splits the head (without the final empty line) into lines; fails on bare CR or bare LF.
    static func lines(_ head: ArraySlice<UInt8>) -> [ArraySlice<UInt8>]? {
        var out: [ArraySlice<UInt8>] = []
        var lineStart = head.startIndex
        var i = head.startIndex
        while i < head.endIndex {
            let c = head[i]
            if c == cr {
                guard i + 1 < head.endIndex, head[i + 1] == lf else { return nil }
                out.append(head[lineStart..<i])
                i += 2
                lineStart = i
            } else if c == lf {
                return nil
            } else {
                i += 1
            }
        }
        if lineStart < head.endIndex { out.append(head[lineStart..<head.endIndex]) }
        return out
    }

    /// Parses `name: value` lines into headers. Rejects obsolete line folding, whitespace before the
    /// colon, non-token names and control characters in values.
    static func fields(_ lines: ArraySlice<ArraySlice<UInt8>>) -> Result<HTTPHeaders, HTTPParseError> {
        var headers = HTTPHeaders()
        for line in lines {
            guard let first = line.first else { continue }
            if first == 0x20 || first == 0x09 {
                return .failure(HTTPParseError(.badRequest, "obsolete header line folding"))
            }
            guard let colon = line.firstIndex(of: 0x3A) else {
                return .failure(HTTPParseError(.badRequest, "header line without colon"))
            }
            let name = line[line.startIndex..<colon]
            guard isToken(name) else {
                return .failure(HTTPParseError(.badRequest, "invalid header name"))
            }
            var vs = colon + 1, ve = line.endIndex
            while vs < ve && (line[vs] == 0x20 || line[vs] == 0x09) { vs += 1 }
            while ve > vs && (line[ve - 1] == 0x20 || line[ve - 1] == 0x09) { ve -= 1 }
            let value = line[vs..<ve]
            for c in value where (c < 0x20 && c != 0x09) || c == 0x7F {
                return .failure(HTTPParseError(.badRequest, "control character in header value"))
            }
            headers.add(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
        }
        return .success(headers)
    }

    /// The Content-Length value: nil when absent, an error when malformed or conflicting.
    static func contentLength(_ headers: HTTPHeaders) -> Result<Int?, HTTPParseError> {
        let values = headers.values("Content-Length")
        if values.isEmpty { return .success(nil) }
        var result: Int? = nil
        for v in values {
            for part in v.split(separator: ",", omittingEmptySubsequences: false) {
                let t = trimOWS(part)
                guard !t.isEmpty, t.utf8.count <= 18, t.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      let n = Int(t) else {
                    return .failure(HTTPParseError(.badRequest, "invalid Content-Length"))
                }
                if let r = result, r != n {
                    return .failure(HTTPParseError(.badRequest, "conflicting Content-Length values"))
                }
                result = n
            }
        }
        return .success(result)
    }
}
