/// A small method + path router: patterns like `/v1/queue/:id` (`:name` captures one segment) and
/// `/static/*` (a final `*` captures the rest of the path as parameter `*`).
///
/// Matching compares percent-encoded segments literally and decodes captured values. A literal
/// segment wins over a capture at the same position. `HEAD` falls back to a `GET` route. Pure value;
/// build once at startup, then share read-only between threads.
public struct HTTPRouter<Handler: Sendable>: Sendable {
    /// Result of `match`.
    public enum Match {
        /// A route matched; `parameters` holds decoded captures by name.
        case matched(Handler, parameters: [String: String])
        /// The path exists for other methods (answer 405 with an `Allow` header).
        case methodNotAllowed(allowed: [String])
        /// No route has this path (404), or a capture had a malformed percent escape.
        case notFound
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case capture(String)
        case rest
    }

    struct Route: Sendable {
        let method: String
        let segments: [Segment]
        let handler: Handler
    }

    var routes: [Route] = []

    /// An empty router.
    public init() {}

    /// Adds a route. `pattern` must start with `/`. Later routes with the same pattern and method are
    /// ignored (the first one wins).
    public mutating func add(_ method: String, _ pattern: String, _ handler: Handler) {
        precondition(pattern.hasPrefix("/"), "route pattern must start with /")
        let segments: [Segment] = pattern.split(separator: "/", omittingEmptySubsequences: true).map { s in
            if s == "*" { return .rest }
            if s.hasPrefix(":") { return .capture(String(s.dropFirst())) }
            return .literal(String(s))
        }
        routes.append(Route(method: method, segments: segments, handler: handler))
    }

    /// Finds the route for `method` and the still-encoded `path` (e.g. `request.path`).
    public func match(method: String, path: some StringProtocol) -> Match {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        var best: (route: Route, params: [String: String], score: Int)? = nil
        var allowed: [String] = []
        for route in routes {
            guard let (params, score) = HTTPRouter.bind(route.segments, parts) else { continue }
            if !allowed.contains(route.method) { allowed.append(route.method) }
            guard route.method == method || (method == "HEAD" && route.method == "GET") else { continue }
            // Prefer exact method over the HEAD→GET fallback, then more literal segments.
            let s = score * 2 + (route.method == method ? 1 : 0)
            if best == nil || s > best!.score { best = (route, params, s) }
        }
        if let b = best { return .matched(b.route.handler, parameters: b.params) }
        if allowed.isEmpty { return .notFound }
        if allowed.contains("GET") && !allowed.contains("HEAD") { allowed.append("HEAD") }
        return .methodNotAllowed(allowed: allowed)
    }

    static func bind(_ segments: [Segment], _ parts: [some StringProtocol]) -> ([String: String], Int)? {
        var params: [String: String] = [:]
        var score = 0
        for (i, seg) in segments.enumerated() {
            switch seg {
            case .rest:
                let rest = parts[i...].map { String($0) }.joined(separator: "/")
                guard let decoded = HTTPQuery.percentDecode(rest) else { return nil }
                params["*"] = decoded
                return (params, score)
            case .literal(let l):
                guard i < parts.count, parts[i] == l else { return nil }
                score += 1
            case .capture(let name):
                guard i < parts.count, let decoded = HTTPQuery.percentDecode(String(parts[i])) else { return nil }
                params[name] = decoded
            }
        }
        return parts.count == segments.count ? (params, score) : nil
    }
}
