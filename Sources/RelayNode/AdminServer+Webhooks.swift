import Dispatch
import Foundation
import HTTPCore
import Registry
import RelayConfig
import SendarixSupport
import SpoolStore
import Synchronization

extension AdminServer {
    /// `/v1/webhooks…`: endpoints (create, list, show, update, delete, rotate, pause, resume,
    /// replay) and their attempts. Writes propose a registry command and answer once it commits;
    /// every call runs on a worker thread. Nil for other paths or without a valid token.
    func webhookAction(for request: HTTPRequest, keepAlive: Bool) -> ((@escaping @Sendable ([UInt8]) -> Void) -> Void)? {
        let parts = AdminServer.pathSegments(request)
        guard parts.count >= 2, parts[0] == "v1", parts[1] == "webhooks",
              let role = role(request), role == .operatorAccess || request.method == "GET" else { return nil }
        let api = WebhookAPI(store: store, log: log, allowed: config.webhooks.allowedPrivateNetworks)
        let method = request.method
        let body = request.body
        let query = (tenant: request.query("tenant"), limit: request.query("limit"))
        return { reply in
            DispatchQueue.global().async {
                let (status, json) = api.respond(method: method, parts: parts, body: body, tenant: query.tenant,
                                                 limit: query.limit)
                reply(AdminServer.response(status, json: json, keepAlive: keepAlive))
            }
        }
    }
}

/// The webhook resources of the admin API, apart from HTTP framing. Blocks (log commits); any
/// thread.
struct WebhookAPI: Sendable {
    let store: SpoolStore
    let log: any ReplicatedLog
    let allowed: [IPNetwork]

    /// Event types an endpoint may ask for.
    static let eventTypes = Set(Event.Kind.allCases.map(\.rawValue).filter { !$0.hasPrefix("webhook.") } + ["*"])

    func respond(method: String, parts: [String], body: [UInt8], tenant: String?, limit: String?) -> (Int, Any) {
        let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        let now = WallClock.nowMillis()
        do {
            switch (method, parts.count) {
            case ("POST", 2):
                guard let url = object["url"] as? String, let tenant = object["tenant"] as? String else {
                    return (400, ["error": "body must be JSON {\"url\": \"https://…\", \"tenant\": \"acme\", \"events\": [\"delivered\", …]}"])
                }
                let events = object["events"] as? [String] ?? []
                if let problem = check(url: url, events: events) { return (400, ["error": problem]) }
                let id = "ep_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
                let secret = WebhookSigner.newSecret()
                var e = WebhookEndpoint(id: id, tenant: tenant, url: url, events: events, secret: secret,
                                        maxConcurrency: object["concurrency"] as? Int ?? 4,
                                        ratePerSecond: object["rate"] as? Int ?? 0, createdAt: now)
                e.batchMaxEvents = object["batchMaxEvents"] as? Int
                try commit(.create(e))
                var out = view(e)
                out["secret"] = secret
                return (201, out)
            case ("GET", 2):
                let stats = try store.webhookStats()
                let list = try store.webhookEndpoints().filter { tenant == nil || $0.tenant == tenant }
                return (200, ["webhooks": list.map { e in view(e, stats: stats.endpoints.first { $0.id == e.id }) }])
            case ("GET", 3):
                guard let e = try store.webhookEndpoint(parts[2]) else { return notFound(parts[2]) }
                return (200, view(e, stats: try store.webhookStats().endpoints.first { $0.id == e.id }))
            case ("PUT", 3), ("PATCH", 3), ("POST", 3):
                guard try store.webhookEndpoint(parts[2]) != nil else { return notFound(parts[2]) }
                let url = object["url"] as? String
                let events = object["events"] as? [String]
                if let problem = check(url: url, events: events ?? []) { return (400, ["error": problem]) }
                try commit(.update(WebhookCommand.Update(id: parts[2], url: url, events: events,
                                                         maxConcurrency: object["concurrency"] as? Int,
                                                         ratePerSecond: object["rate"] as? Int,
                                                         batchMaxEvents: object["batchMaxEvents"] as? Int, at: now)))
                return (200, view(try store.webhookEndpoint(parts[2])!))
            case ("DELETE", 3):
                guard try store.webhookEndpoint(parts[2]) != nil else { return notFound(parts[2]) }
                try commit(.delete(id: parts[2], at: now))
                return (200, ["ok": true])
            case ("POST", 4) where parts[3] == "rotate" || parts[3] == "rotate-secret":
                guard try store.webhookEndpoint(parts[2]) != nil else { return notFound(parts[2]) }
                let grace = Int64(object["graceSeconds"] as? Int ?? 86_400)
                let secret = WebhookSigner.newSecret()
                try commit(.rotateSecret(id: parts[2], secret: secret, graceUntil: now + grace * 1000, at: now))
                var out = view(try store.webhookEndpoint(parts[2])!)
                out["secret"] = secret
                return (200, out)
            case ("POST", 4) where parts[3] == "pause" || parts[3] == "resume":
                guard try store.webhookEndpoint(parts[2]) != nil else { return notFound(parts[2]) }
                try commit(.setPaused(id: parts[2], paused: parts[3] == "pause", at: now))
                return (200, view(try store.webhookEndpoint(parts[2])!))
            case ("POST", 4) where parts[3] == "replay":
                guard try store.webhookEndpoint(parts[2]) != nil else { return notFound(parts[2]) }
                let since = (object["since"]).flatMap(Self.time) ?? 0
                let until = (object["until"]).flatMap(Self.time) ?? Int64.max
                var replayed = 0
                // Finished calls in the range, in commands of at most 500.
                let calls = try store.finishedWebhookCalls(parts[2], newestFirst: false, limit: 1_000_000)
                    .filter { $0.createdAt >= since && $0.createdAt <= until }
                var start = 0
                while start < calls.count {
                    let chunk = calls[start..<min(start + 500, calls.count)]
                    try commit(.replay(endpoint: parts[2], sequences: chunk.map(\.sequence), at: now))
                    replayed += chunk.count
                    start += 500
                }
                return (200, ["replayed": replayed])
            case ("GET", 4) where parts[3] == "attempts":
                guard try store.webhookEndpoint(parts[2]) != nil else { return notFound(parts[2]) }
                let n = min(max(Int(limit ?? "") ?? 100, 1), 10_000)
                var calls = try store.pendingWebhookCalls(parts[2], limit: 10_000).filter { !$0.history.isEmpty }
                calls += try store.finishedWebhookCalls(parts[2], limit: n)
                var attempts: [(Int64, [String: Any])] = []
                for c in calls {
                    for a in c.history {
                        var row: [String: Any] = [
                            "webhookId": c.webhookID, "sequence": c.sequence, "eventType": c.eventType,
                            "attempt": Int(a.attempt), "status": a.status, "latencyMs": a.latencyMillis,
                            "response": a.response, "at": RFC3339.format(millis: a.at), "node": a.node,
                            "callStatus": c.status.rawValue,
                        ]
                        if let b = c.batch, b.size > 1 {
                            row["batchId"] = b.id  // the POST's webhook-id
                            row["batchSize"] = Int(b.size)
                        }
                        attempts.append((a.at, row))
                    }
                }
                attempts.sort { $0.0 > $1.0 }
                return (200, ["attempts": attempts.prefix(n).map(\.1)])
            default:
                return (404, ["error": "no such resource: \(method) /" + parts.joined(separator: "/")])
            }
        } catch let e as StoreError {
            return (e.code == .invalidCommand ? 400 : 503, ["error": e.reason])
        } catch {
            return (500, ["error": "\(error)"])
        }
    }

    private func notFound(_ id: String) -> (Int, Any) { (404, ["error": "no webhook \(id)"]) }

    /// A problem with a URL or event list, or nil. A literal private address is refused here
    /// already (a host name is checked after resolution, at every call).
    private func check(url: String?, events: [String]) -> String? {
        if let unknown = events.first(where: { !Self.eventTypes.contains($0) }) {
            return "unknown event type '\(unknown)' (known: \(Self.eventTypes.sorted().joined(separator: ", ")))"
        }
        guard let url else { return nil }
        guard let target = WebhookTarget(url: url) else { return "url must be http(s)://host[:port]/path" }
        if let ip = IPAddress(target.host), let why = WebhookTarget.refusal(ip, allowed: allowed) { return why }
        return nil
    }

    private func commit(_ command: WebhookCommand) throws {
        _ = try log.proposeBlocking(.registry(.webhook(command)), timeout: 15).get()
    }

    static func time(_ v: Any) -> Int64? {
        if let n = v as? Int { return Int64(n) }
        if let s = v as? String { return Int64(s) ?? RFC3339.parse(s) }
        return nil
    }

    /// An endpoint as the API shows it (never its secrets).
    func view(_ e: WebhookEndpoint, stats: WebhookStats.Endpoint? = nil) -> [String: Any] {
        var out: [String: Any] = [
            "id": e.id, "tenant": e.tenant, "url": e.url, "events": e.events, "status": e.status,
            "concurrency": e.maxConcurrency, "rate": e.ratePerSecond, "createdAt": RFC3339.format(millis: e.createdAt),
            "consecutiveFailures": e.consecutiveFailures, "secrets": e.secrets.count,
        ]
        if !e.statusReason.isEmpty { out["statusReason"] = e.statusReason }
        if let b = e.batchMaxEvents { out["batchMaxEvents"] = b }
        if let t = e.lastSuccessAt { out["lastSuccessAt"] = RFC3339.format(millis: t) }
        if let t = e.lastFailureAt { out["lastFailureAt"] = RFC3339.format(millis: t) }
        if let s = stats {
            out["pending"] = s.pending
            out["failed"] = s.failed
            out["delivered"] = s.delivered
        }
        return out
    }
}
