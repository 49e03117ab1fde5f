import Foundation
import HTTPCore
import NetworkIO

extension AdminServer {
    /// `GET /ui/…`: the dashboard's static files (`DashboardAssets`), served without the token —
    /// they hold no data; the page asks for the token and sends it with every API call. `/ui`
    /// redirects to `/ui/`. Responses carry a strict Content-Security-Policy, an ETag (answered
    /// with 304 on `If-None-Match`) and cache headers: the page is revalidated on every load, the
    /// versioned script and style sheet are immutable. Also `GET /v1/queue-depth` (any valid
    /// token): the sampled queue depth of the last hour, `{"intervalSeconds": 10, "samples":
    /// [[epochMillis, count], …]}` oldest first. Nil for other paths.
    func dashboardResponse(for request: HTTPRequest, keepAlive: Bool) -> [UInt8]? {
        let path = request.path
        if path == "/v1/queue-depth" { return queueDepthResponse(for: request, keepAlive: keepAlive) }
        guard path == "/ui" || path.hasPrefix("/ui/") else { return nil }
        var headers = HTTPHeaders()
        headers.add("Content-Security-Policy", DashboardAssets.contentSecurityPolicy)
        headers.add("X-Content-Type-Options", "nosniff")
        headers.add("X-Frame-Options", "DENY")
        headers.add("Referrer-Policy", "no-referrer")
        headers.add("Cross-Origin-Opener-Policy", "same-origin")
        guard request.method == "GET" || request.method == "HEAD" else {
            headers.add("Allow", "GET, HEAD")
            headers.add("Content-Type", "text/plain; charset=utf-8")
            return HTTPResponse(status: 405, headers: headers, body: Array("the dashboard is read with GET\n".utf8))
                .serialize(keepAlive: keepAlive)
        }
        let head = request.method == "HEAD"
        if path == "/ui" {
            headers.add("Location", "/ui/")
            return HTTPResponse(status: 301, headers: headers).serialize(keepAlive: keepAlive, headRequest: head)
        }
        guard let asset = DashboardAssets.files[String(path.dropFirst(4))] else {
            headers.add("Content-Type", "text/plain; charset=utf-8")
            headers.add("Cache-Control", "no-store")
            return HTTPResponse(status: 404, headers: headers, body: Array("no such dashboard file\n".utf8))
                .serialize(keepAlive: keepAlive, headRequest: head)
        }
        headers.add("ETag", asset.etag)
        // A versioned URL (`app.js?v=…`) names one content for good; anything else revalidates.
        let versioned = asset.immutable && request.query("v") != nil
        headers.add("Cache-Control", versioned ? "public, max-age=31536000, immutable" : "no-cache")
        let tags = request.headers.values("If-None-Match").flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if tags.contains(asset.etag) || tags.contains("*") {
            return HTTPResponse(status: 304, headers: headers).serialize(keepAlive: keepAlive, headRequest: head)
        }
        headers.add("Content-Type", asset.contentType)
        return HTTPResponse(status: 200, headers: headers, body: asset.bytes).serialize(keepAlive: keepAlive, headRequest: head)
    }

    private func queueDepthResponse(for request: HTTPRequest, keepAlive: Bool) -> [UInt8] {
        guard role(request) != nil else {
            return AdminServer.response(401, json: ["error": "missing or wrong bearer token"], keepAlive: keepAlive,
                                        extra: [("WWW-Authenticate", "Bearer")])
        }
        guard request.method == "GET" else {
            return AdminServer.response(405, json: ["error": "the queue depth is read with GET"], keepAlive: keepAlive,
                                        extra: [("Allow", "GET")])
        }
        let samples = queueDepth.all().map { [Int($0.millis), $0.count] }
        return AdminServer.response(200, json: ["intervalSeconds": queueDepth.interval, "samples": samples], keepAlive: keepAlive)
    }

    /// Samples the queue depth now (before `start` returns) and then every `queueDepth.interval`
    /// seconds on `loop` (an LMDB entry count, cheap) for as long as this server exists.
    func startQueueDepthSampling(loop: EventLoop) {
        sampleQueueDepth()
        loop.every(queueDepth.interval, initialDelay: queueDepth.interval) { [weak self] in
            guard let self else { return false }
            sampleQueueDepth()
            return true
        }
    }

    private func sampleQueueDepth() {
        if let count = try? store.queueCount() {
            queueDepth.record(count, at: Int64(Date().timeIntervalSince1970 * 1000))
        }
    }
}
