/// An HTTP/1.1 response: built by a server and written with `serialize(keepAlive:)`, or produced by
/// `HTTPResponseParser` on the client side.
///
/// Pure value; any thread.
public struct HTTPResponse: Sendable, Equatable {
    /// Status code (200, 404, …).
    public var status: Int
    /// Reason phrase; nil means the standard phrase for `status`.
    public var reason: String?
    /// Header fields (Content-Length and Connection are managed by `serialize`).
    public var headers: HTTPHeaders
    /// Body bytes.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, reason: String? = nil, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }

    /// A JSON response (`Content-Type: application/json`) from already-encoded bytes.
    public static func json(_ status: Int, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: body)
    }

    /// A plain-text response (`text/plain; charset=utf-8`).
    public static func text(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(text.utf8))
    }

    /// The response for a parse error: its status, a one-line text body; the caller closes afterwards.
    public static func error(_ e: HTTPParseError) -> HTTPResponse { text(e.status, e.reason + "\n") }

    /// The interim `HTTP/1.1 100 Continue` response (see `HTTPRequestParser.takeExpectContinue()`).
    public static let continueLine: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// True for statuses that never carry a body (1xx, 204, 304).
    public static func statusHasNoBody(_ status: Int) -> Bool {
        (100..<200).contains(status) || status == 204 || status == 304
    }

    /// The wire form: status line, headers, `Content-Length` (omitted for 1xx/204/304),
    /// `Connection: keep-alive` or `close`, then the body (omitted when `headRequest`, whose
    /// Content-Length still describes the GET body). User-set Content-Length, Transfer-Encoding and
    /// Connection headers are replaced.
    public func serialize(keepAlive: Bool, headRequest: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160 + body.count)
        out.append(contentsOf: "HTTP/1.1 \(status) \(reason ?? HTTPResponse.reasonPhrase(status))\r\n".utf8)
        var h = headers
        h.remove("Content-Length")
        h.remove("Transfer-Encoding")
        h.remove("Connection")
        let noBody = HTTPResponse.statusHasNoBody(status)
        if !noBody { h.add("Content-Length", String(body.count)) }
        h.add("Connection", keepAlive ? "keep-alive" : "close")
        h.write(to: &out)
        out.append(0x0D)
        out.append(0x0A)
        if !noBody && !headRequest { out.append(contentsOf: body) }
        return out
    }

    /// The standard reason phrase for a status code ("Unknown" when unlisted).
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 415: return "Unsupported Media Type"
        case 422: return "Unprocessable Content"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return "Unknown"
        }
    }
}
