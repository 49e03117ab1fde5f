import Foundation
import Glibc
import HTTPCore
import RelayConfig

/// Operator commands: talk to a running node's admin API over HTTP/1.1 and print JSON.
/// Blocks on the network; main thread only.
enum Operator {
    static func run(_ command: String, _ args: [String]) throws -> Int32 {
        let (named, positional) = try CLI.options(args, flags: ["follow"])
        let target = try AdminTarget(named)
        switch (command, positional.first) {
        case ("health", _):
            return try show(target.get("/health", authenticated: false))
        case ("cluster", "status"):
            return try show(target.get("/v1/cluster/status"))
        case ("cluster", "add"):
            guard positional.count == 3 else { throw CLIError("usage: sendarix cluster add NODE-ID PEER-ADDRESS (host:port)") }
            let body = try JSONSerialization.data(withJSONObject: ["id": positional[1], "address": positional[2]])
            return try show(target.request("POST", "/v1/cluster/members", body: body))
        case ("cluster", "remove"):
            guard positional.count == 2 else { throw CLIError("usage: sendarix cluster remove NODE-ID") }
            return try show(target.request("DELETE", "/v1/cluster/members/\(HTTPQuery.percentEncode(positional[1]))"))
        case ("queue", "list"):
            let limit = named["limit"] ?? "100"
            return try show(target.get("/v1/queue?limit=\(HTTPQuery.percentEncode(limit))"))
        case ("queue", "show"):
            guard positional.count == 2 else { throw CLIError("usage: sendarix queue show ID") }
            return try show(target.get("/v1/queue/\(HTTPQuery.percentEncode(positional[1]))"))
        case ("queue", "retry"), ("queue", "delete"):
            guard positional.count == 2 else { throw CLIError("usage: sendarix queue \(positional[0]) ID") }
            let path = "/v1/queue/\(HTTPQuery.percentEncode(positional[1]))"
            return try show(positional[0] == "retry" ? target.request("POST", path + "/retry") : target.request("DELETE", path))
        case ("suppression", "list"):
            let tenant = HTTPQuery.percentEncode(named["tenant"] ?? "default")
            return try show(target.get("/v1/suppressions?tenant=\(tenant)"))
        case ("suppression", "add"):
            guard positional.count == 2 else { throw CLIError("usage: sendarix suppression add ADDRESS [--tenant T] [--reason R]") }
            let body: [String: String] = ["address": positional[1], "tenant": named["tenant"] ?? "default",
                                          "reason": named["reason"] ?? "operator"]
            return try show(target.request("POST", "/v1/suppressions", body: try JSONSerialization.data(withJSONObject: body)))
        case ("suppression", "remove"):
            guard positional.count == 2 else { throw CLIError("usage: sendarix suppression remove ADDRESS [--tenant T]") }
            let tenant = HTTPQuery.percentEncode(named["tenant"] ?? "default")
            return try show(target.request("DELETE", "/v1/suppressions/\(tenant)/\(HTTPQuery.percentEncode(positional[1].lowercased()))"))
        case ("domains", "add"):
            guard positional.count == 2, let tenant = named["tenant"] else {
                throw CLIError("usage: sendarix domains add DOMAIN --tenant T [--private-key PEM-FILE --selector S]")
            }
            var body: [String: String] = ["domain": positional[1], "tenant": tenant]
            if let file = named["private-key"] { body["privateKey"] = try String(contentsOfFile: file, encoding: .utf8) }
            if let selector = named["selector"] { body["selector"] = selector }
            return try show(target.request("POST", "/v1/domains", body: try JSONSerialization.data(withJSONObject: body)))
        case ("domains", "list"):
            let query = named["tenant"].map { "?tenant=" + HTTPQuery.percentEncode($0) } ?? ""
            return try show(target.get("/v1/domains" + query))
        case ("domains", "show"), ("domains", "verify"), ("domains", "rotate"), ("domains", "remove"):
            guard positional.count == 2 else { throw CLIError("usage: sendarix domains \(positional[0]) DOMAIN") }
            let path = "/v1/domains/" + HTTPQuery.percentEncode(positional[1].lowercased())
            switch positional[0] {
            case "show": return try show(target.get(path))
            case "remove": return try show(target.request("DELETE", path))
            default: return try show(target.request("POST", path + "/" + positional[0]))
            }
        case ("tenants", "show"):
            guard positional.count == 2 else { throw CLIError("usage: sendarix tenants show TENANT") }
            return try show(target.get("/v1/tenants/" + HTTPQuery.percentEncode(positional[1])))
        case ("tenants", "set"):
            guard positional.count == 2 else {
                throw CLIError("usage: sendarix tenants set TENANT [--sender-policy enforce|sign-only|off] [--allow-subdomains true|false]")
            }
            var body: [String: Any] = [:]
            if let p = named["sender-policy"] { body["senderPolicy"] = p }
            if let a = named["allow-subdomains"] { body["allowSubdomains"] = a == "true" }
            return try show(target.request("PUT", "/v1/tenants/" + HTTPQuery.percentEncode(positional[1]),
                                           body: try JSONSerialization.data(withJSONObject: body)))
        case ("webhooks", _):
            return try webhooks(named, positional, target)
        case ("events", "stats"):
            return try eventStats(target, named)
        case ("events", _):
            if named["follow"] != nil { return try followEvents(target, named) }
            return try show(target.get("/v1/events?" + HTTPQuery.encode(eventSearchItems(named))))
        default:
            if let status = try credentialCommand(command, positional, named, target) { return status }
            if let status = try limitsCommand(command, positional, named, target) { return status }
            throw CLIError("unknown operator command '\(command) \(positional.joined(separator: " "))'\n\n\(CLI.usage)")
        }
    }

    static func show(_ response: (Int, [UInt8])) throws -> Int32 {
        let (status, body) = response
        if let obj = try? JSONSerialization.jsonObject(with: Data(body)),
           let pretty = try? JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys]) {
            print(String(decoding: pretty, as: UTF8.self))
        } else {
            print(String(decoding: body, as: UTF8.self))
        }
        return status >= 200 && status < 300 ? 0 : 1
    }
}

/// Where the admin API is and which token to present.
struct AdminTarget {
    var host: String
    var port: UInt16
    var token: String?

    init(_ named: [String: String]) throws {
        var url = named["admin"]
        var token = named["token"] ?? ProcessInfo.processInfo.environment["SENDARIX_ADMIN_TOKEN"]
        if let path = named["config"] {
            let config = try RelayConfig.load(path: path)
            if url == nil, let a = config.listen.admin { url = "http://\(a.description)" }
            if token == nil { token = config.adminToken }
        }
        if token == nil, let d = FileManager.default.contents(atPath: "./sendarix-data/admin-token") {
            token = String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var rest = Substring(url ?? "http://127.0.0.1:8025")
        if rest.hasPrefix("http://") { rest = rest.dropFirst(7) }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        guard let colon = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: colon)...]) else {
            throw CLIError("--admin must look like http://HOST:PORT")
        }
        host = String(rest[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        self.port = port
        self.token = token
    }

    /// GET `path`; returns status and body. Blocks (10 s timeout).
    func get(_ path: String, authenticated: Bool = true) throws -> (Int, [UInt8]) {
        try request("GET", path, authenticated: authenticated)
    }

    /// Sends one request and returns status and body. Blocks (10 s timeout).
    func request(_ method: String, _ path: String, body: Data? = nil, authenticated: Bool = true,
                 maxBodyBytes: Int = 16 * 1024 * 1024) throws -> (Int, [UInt8]) {
        var headers = HTTPHeaders()
        headers.add("Host", "\(host):\(port)")
        headers.add("Connection", "close")
        if authenticated, let token { headers.add("Authorization", "Bearer \(token)") }
        if body != nil { headers.add("Content-Type", "application/json") }
        let request = HTTPRequest(method: method, target: path, headers: headers, body: body.map { Array($0) } ?? []).serialize()
        let raw = try exchange(request)
        var parser = HTTPResponseParser(maxBodyBytes: maxBodyBytes)
        parser.feed(raw)
        var event = parser.next()
        if event == .needMore { event = parser.finish() }
        switch event {
        case .response(let r): return (r.status, r.body)
        case .error(let e): throw CLIError("bad response from admin API: \(e)")
        case .needMore: throw CLIError("incomplete response from admin API")
        }
    }

    private func exchange(_ request: [UInt8]) throws -> [UInt8] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &info) == 0, let ai = info else {
            throw CLIError("cannot resolve admin host \(host)")
        }
        defer { freeaddrinfo(info) }
        let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, 0)
        guard fd >= 0 else { throw CLIError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else {
            throw CLIError("cannot reach the admin API at \(host):\(port): \(String(cString: strerror(errno))) (is the node running?)")
        }
        var off = 0
        while off < request.count {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + off, request.count - off, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw CLIError("write to admin API failed") }
            off += n
        }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }
}
