/// One HTTP/1.x request: as parsed by `HTTPRequestParser` (server side) or built by a client and
/// written with `serialize()`.
///
/// Pure value; any thread.
public struct HTTPRequest: Sendable, Equatable {
    /// Method token, case-sensitive (`GET`, `POST`, …).
    public var method: String
    /// The request target as sent (`/v1/events?recipient=a%40b`).
    public var target: String
    /// Minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    public var minorVersion: Int
    /// Header fields.
    public var headers: HTTPHeaders
    /// Body bytes (empty when none).
    public var body: [UInt8]

    /// Creates a request (HTTP/1.1 by default).
    public init(method: String, target: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
                minorVersion: Int = 1) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.minorVersion = minorVersion
    }

    /// The path part of the target, still percent-encoded (`/v1/queue/abc`). For an absolute-form
    /// target (`http://host/p`) the path after the authority.
    public var path: Substring {
        var t = Substring(target)
        if let q = t.firstIndex(of: "?") { t = t[..<q] }
        if let scheme = t.firstRange(of: "://") {
            let rest = t[scheme.upperBound...]
            t = rest.firstIndex(of: "/").map { rest[$0...] } ?? "/"
        }
        return t
    }

    /// The raw query string after `?` (empty when none).
    public var rawQuery: Substring {
        guard let q = target.firstIndex(of: "?") else { return "" }
        return target[target.index(after: q)...]
    }

    /// Decoded query parameters in order, or nil when the query has a malformed percent escape.
    public var queryItems: [HTTPQuery.Item]? { HTTPQuery.parse(rawQuery) }

    /// The first value of query parameter `name` (nil if absent or the query is malformed).
    public func query(_ name: String) -> String? {
        queryItems?.first { $0.name == name }?.value
    }

    /// Whether the connection stays open after this request: HTTP/1.1 unless `Connection: close`,
    /// HTTP/1.0 only with `Connection: keep-alive`.
    public var keepAlive: Bool {
        if headers.contains("Connection", token: "close") { return false }
        if minorVersion == 0 { return headers.contains("Connection", token: "keep-alive") }
        return true
    }

    /// The wire form for a client: request line, headers, `Content-Length` (when there is a body or the
    /// method usually has one), the body. Existing Content-Length / Transfer-Encoding headers are
    /// replaced. Does not add Host; set it in `headers`.
    public func serialize() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + body.count)
        out.append(contentsOf: method.utf8)
        out.append(0x20)
        out.append(contentsOf: target.utf8)
        out.append(contentsOf: " HTTP/1.\(minorVersion)\r\n".utf8)
        var h = headers
        h.remove("Content-Length")
        h.remove("Transfer-Encoding")
        if !body.isEmpty || method == "POST" || method == "PUT" || method == "PATCH" {
            h.add("Content-Length", String(body.count))
        }
        h.write(to: &out)
        out.append(0x0D)
        out.append(0x0A)
        out.append(contentsOf: body)
        return out
    }
}
