import Foundation
import HTTPCore
import SendarixSupport
import SpoolStore

extension AdminServer {
    /// Answers the event resources (authorized requests only): `GET /v1/events` (indexed search
    /// with cursor pagination), `GET /v1/events/stats` (counts, latency percentiles, bounce and
    /// complaint rates) and `GET /v1/events/feed` without `wait` (commit-order tail); nil for
    /// anything else. The long-poll form of the feed is ``followAction(for:keepAlive:)``.
    func eventsResponse(for request: HTTPRequest, keepAlive: Bool) -> [UInt8]? {
        guard request.method == "GET" else { return nil }
        let parts = AdminServer.pathSegments(request)
        guard parts.count >= 2, parts.count <= 3, parts[0] == "v1", parts[1] == "events" else { return nil }
        do {
            switch parts.count == 3 ? parts[2] : "" {
            case "": return try search(request, keepAlive: keepAlive)
            case "stats": return try eventStats(request, keepAlive: keepAlive)
            case "feed": return try feed(request, keepAlive: keepAlive)
            default: return nil
            }
        } catch let e as StoreError where e.code == .invalidCommand {
            return AdminServer.response(400, json: ["error": e.reason], keepAlive: keepAlive)
        } catch {
            logger.log(.error, "admin request failed", ["path": String(request.path), "error": "\(error)"])
            return AdminServer.response(500, json: ["error": "\(error)"], keepAlive: keepAlive)
        }
    }

    /// `GET /v1/events/feed?after=ID&wait=SECONDS` with `wait` > 0: answers as soon as an event
    /// follows `after` (checked every 100 ms off the loop), or with an empty list after `wait`
    /// seconds (at most 30). Nil for other requests.
    func followAction(for request: HTTPRequest, keepAlive: Bool)
        -> ((@escaping @Sendable ([UInt8]) -> Void) -> Void)? {
        guard request.method == "GET", authorizedRequest(request) || role(request) == .readOnly else { return nil }
        let parts = AdminServer.pathSegments(request)
        guard parts == ["v1", "events", "feed"], let w = request.query("wait"), let wait = Double(w), wait > 0,
              let after = request.query("after"), !after.isEmpty else { return nil }
        let limit = min(max(Int(request.query("limit") ?? "") ?? 1000, 1), 10_000)
        let deadline = DispatchTime.now() + min(wait, 30)
        let store = self.store
        return { reply in
            @Sendable func poll() {
                do {
                    let events = try store.eventFeed(after: after, limit: limit)
                    if !events.isEmpty || DispatchTime.now() >= deadline {
                        reply(try AdminServer.feedResponse(events, after: after, keepAlive: keepAlive))
                        return
                    }
                    DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { poll() }
                } catch {
                    reply(AdminServer.response(400, json: ["error": "\(error)"], keepAlive: keepAlive))
                }
            }
            DispatchQueue.global().async { poll() }
        }
    }

    private func search(_ request: HTTPRequest, keepAlive: Bool) throws -> [UInt8] {
        var q = EventQuery()
        func text(_ name: String) -> String? { request.query(name).flatMap { $0.isEmpty ? nil : $0 } }
        q.recipient = text("recipient")
        q.sender = text("sender")
        q.queueId = text("queueId")
        q.messageId = text("messageId")
        q.tenant = text("tenant")
        q.recipientDomain = text("domain") ?? text("recipientDomain")
        q.bounceClass = text("bounceClass")
        q.cursor = text("cursor")
        if let t = text("type") {
            guard let kind = Event.Kind(rawValue: t) else {
                return AdminServer.response(400, json: ["error": "unknown event type '\(t)'"], keepAlive: keepAlive)
            }
            q.type = kind
        }
        for (name, isSince) in [("since", true), ("until", false), ("before", false)] {
            guard let s = text(name) else { continue }
            guard let ms = AdminServer.parseTime(s) else {
                return AdminServer.response(400, json: ["error": "\(name) must be RFC 3339 or milliseconds since the epoch"],
                                            keepAlive: keepAlive)
            }
            if isSince { q.since = ms } else { q.before = ms }
        }
        if let l = text("limit") {
            guard let n = Int(l), n > 0 else {
                return AdminServer.response(400, json: ["error": "limit must be a positive number"], keepAlive: keepAlive)
            }
            q.limit = min(n, 10_000)
        }
        let page = try store.searchEvents(q)
        var body = Array("{\"events\":".utf8)
        body += try JSONEncoder().encode(page.events)
        if let cursor = page.cursor {
            var items = (request.queryItems ?? []).filter { $0.name != "cursor" }
            items.append(HTTPQuery.Item(name: "cursor", value: cursor))
            let next = "/v1/events?" + HTTPQuery.encode(items)
            body += Array(",\"cursor\":\"\(cursor)\",\"next\":".utf8)
            body += try JSONEncoder().encode(next)
        }
        body += Array("}".utf8)
        return AdminServer.response(200, body: body, contentType: "application/json", keepAlive: keepAlive)
    }

    private func feed(_ request: HTTPRequest, keepAlive: Bool) throws -> [UInt8] {
        let after = request.query("after").flatMap { $0.isEmpty ? nil : $0 }
        guard let after else {
            // Where to start following: the newest event so far.
            var json: [String: Any] = ["events": [Any]()]
            if let last = try store.latestEventID() { json["last"] = last }
            return AdminServer.response(200, json: json, keepAlive: keepAlive)
        }
        let limit = min(max(Int(request.query("limit") ?? "") ?? 1000, 1), 10_000)
        return try AdminServer.feedResponse(try store.eventFeed(after: after, limit: limit), after: after, keepAlive: keepAlive)
    }

    static func feedResponse(_ events: [Event], after: String, keepAlive: Bool) throws -> [UInt8] {
        var body = Array("{\"events\":".utf8)
        body += try JSONEncoder().encode(events)
        body += Array(",\"last\":".utf8)
        body += try JSONEncoder().encode(events.last?.id ?? after)
        body += Array("}".utf8)
        return AdminServer.response(200, body: body, contentType: "application/json", keepAlive: keepAlive)
    }

    /// Complaint (spam) rate thresholds published by Gmail's sender guidelines (and Yahoo's): keep
    /// below 0.3 %, aim below 0.1 %. Bounce thresholds as Amazon SES publishes them: review at 5 %,
    /// sending paused at 10 %.
    static let rateLimits: [String: (warning: Double, limit: Double, source: String)] = [
        "complaintRate": (0.001, 0.003, "Gmail/Yahoo sender guidelines: spam rate below 0.3 %, ideally below 0.1 %"),
        "bounceRate": (0.05, 0.10, "Amazon SES: review at 5 %, pause at 10 %"),
    ]

    static var rateThresholds: [String: Any] {
        rateLimits.mapValues { ["warning": $0.warning, "limit": $0.limit, "source": $0.source] }
    }

    private func eventStats(_ request: HTTPRequest, keepAlive: Bool) throws -> [UInt8] {
        let now = WallClock.nowMillis()
        let resolutionText = request.query("resolution") ?? "hour"
        guard let resolution = EventStats.Resolution(rawValue: resolutionText) else {
            return AdminServer.response(400, json: ["error": "resolution must be minute, hour or day"], keepAlive: keepAlive)
        }
        let byText = request.query("by") ?? "all"
        guard let by = EventStats.Dimension(rawValue: byText == "domain" ? "recipientDomain" : byText) else {
            return AdminServer.response(400, json: ["error": "by must be all, tenant, domain, sourceIP, pool or sendingIP"], keepAlive: keepAlive)
        }
        var from = now - 86_400_000, to = now + 1
        if let s = request.query("from") ?? request.query("since") {
            guard let ms = AdminServer.parseTime(s) else {
                return AdminServer.response(400, json: ["error": "from must be RFC 3339 or milliseconds"], keepAlive: keepAlive)
            }
            from = ms
        }
        if let s = request.query("to") ?? request.query("until") {
            guard let ms = AdminServer.parseTime(s) else {
                return AdminServer.response(400, json: ["error": "to must be RFC 3339 or milliseconds"], keepAlive: keepAlive)
            }
            to = ms
        }
        let key = request.query("key").flatMap { $0.isEmpty ? nil : $0 } ?? request.query("tenant").flatMap { by == .tenant ? $0 : nil }
        let rows = try store.eventCounts(from: from, to: to, resolution: resolution, dimension: by, key: key)
        var totals: [String: UInt64] = [:]
        for r in rows { totals[r.type.rawValue, default: 0] += r.count }
        let delivered = Double(totals["delivered"] ?? 0), bounced = Double(totals["bounced"] ?? 0)
        let complained = Double(totals["complained"] ?? 0)
        func status(_ rate: Double, _ name: String) -> String {
            let t = AdminServer.rateLimits[name]!
            return rate >= t.limit ? "over" : rate >= t.warning ? "warning" : "ok"
        }
        var rates: [String: Any] = [:]
        if delivered + bounced > 0 {
            let r = bounced / (delivered + bounced)
            rates["bounceRate"] = ["value": r, "status": status(r, "bounceRate")]
        }
        if delivered > 0 {
            let r = complained / delivered
            rates["complaintRate"] = ["value": r, "status": status(r, "complaintRate")]
        }
        let buckets = try store.deliveryLatencyBuckets(from: from, to: to)
        var latency: [String: Any] = ["count": buckets.values.reduce(0, +)]
        for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
            if let bound = EventStats.quantile(q, buckets: buckets) {
                latency[name + "Seconds"] = bound.map { Double($0) / 1000 } ?? NSNull()
            }
        }
        let json: [String: Any] = [
            "from": AdminServer.time(from), "to": AdminServer.time(to), "resolution": resolution.rawValue,
            "by": by.rawValue,
            "buckets": rows.map { r -> [String: Any] in
                var d: [String: Any] = ["start": AdminServer.time(r.bucketStart), "type": r.type.rawValue, "count": r.count]
                if by != .all { d["key"] = r.key }
                return d
            },
            "totals": totals, "rates": rates, "thresholds": AdminServer.rateThresholds,
            "deliveryLatency": latency,
            "note": "latency percentiles are bucket upper bounds (\(EventStats.latencyBoundsMillis.count + 1) buckets); counts are per UTC bucket",
        ]
        return AdminServer.response(200, json: json, keepAlive: keepAlive)
    }
}
