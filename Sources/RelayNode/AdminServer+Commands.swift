import ClusterLog
import Foundation
import HTTPCore
import SpoolStore
import SendarixSupport

extension AdminServer {
    /// A request whose answer comes later (a log commit or a membership change): returns the
    /// action that starts it and calls back (on another thread) with the response bytes.
    func deferredAction(for request: HTTPRequest, keepAlive: Bool)
        -> ((@escaping @Sendable ([UInt8]) -> Void) -> Void)? {
        if let action = credentialAction(for: request, keepAlive: keepAlive) { return action }
        if let action = domainAction(for: request, keepAlive: keepAlive) { return action }
        if let action = limitsAction(for: request, keepAlive: keepAlive) { return action }
        if let action = webhookAction(for: request, keepAlive: keepAlive) { return action }
        if let action = followAction(for: request, keepAlive: keepAlive) { return action }
        if let action = leaderAction(for: request, keepAlive: keepAlive) { return action }
        if let command = command(for: request) {
            return { reply in self.perform(command, keepAlive: keepAlive, reply: reply) }
        }
        guard authorizedRequest(request), let raft else { return nil }
        let parts = AdminServer.pathSegments(request)
        guard parts.count >= 3, parts[0] == "v1", parts[1] == "cluster", parts[2] == "members" else { return nil }
        func answer(_ reply: @escaping @Sendable ([UInt8]) -> Void) -> @Sendable (Result<Void, ClusterError>) -> Void {
            { result in
                switch result {
                case .success: reply(AdminServer.response(200, json: ["ok": true], keepAlive: keepAlive))
                case .failure(let e): reply(AdminServer.response(409, json: ["error": "\(e)"], keepAlive: keepAlive))
                }
            }
        }
        switch (request.method, parts.count) {
        case ("POST", 3):
            guard let obj = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
                  let id = obj["id"] as? String, let address = obj["address"] as? String else { return nil }
            return { reply in raft.addNode(id, address: address, completion: answer(reply)) }
        case ("DELETE", 4):
            let id = parts[3]
            return { reply in raft.removeNode(id, completion: answer(reply)) }
        default:
            return nil
        }
    }

    /// The log command an operator request asks for (retry, delete, suppression changes), or nil
    /// for read-only requests. Malformed bodies are answered by `handle` (400) instead.
    func command(for request: HTTPRequest) -> SpoolCommand? {
        guard authorizedRequest(request) else { return nil }
        let parts = AdminServer.pathSegments(request)
        let now = WallClock.nowMillis()
        switch (request.method, parts.count) {
        case ("POST", 4) where parts[0] == "v1" && parts[1] == "queue" && parts[3] == "retry":
            return .reschedule(SpoolCommand.Reschedule(queueID: parts[2], at: now))
        case ("DELETE", 3) where parts[0] == "v1" && parts[1] == "queue":
            return .delete(SpoolCommand.Delete(queueID: parts[2], reason: "deleted by operator", timestamp: now))
        case ("POST", 2) where parts[0] == "v1" && parts[1] == "suppressions":
            guard let s = suppressionBody(request) else { return nil }
            return .suppress(SpoolCommand.Suppression(tenant: s.tenant, address: s.address, reason: s.reason, createdAt: now))
        case ("DELETE", 4) where parts[0] == "v1" && parts[1] == "suppressions":
            return .unsuppress(tenant: parts[2], address: parts[3])
        default:
            return nil
        }
    }

    private func suppressionBody(_ request: HTTPRequest) -> (tenant: String, address: String, reason: String)? {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
              let address = obj["address"] as? String, address.contains("@"), address.count <= 320 else { return nil }
        let tenant = obj["tenant"] as? String ?? "default"
        let reason = obj["reason"] as? String ?? "operator"
        return (tenant, address.lowercased(), reason)
    }

    /// Proposes `command`, then answers (on the log's thread) with the result.
    func perform(_ command: SpoolCommand, keepAlive: Bool, reply: @escaping @Sendable ([UInt8]) -> Void) {
        let wake = onRescheduled
        log.propose(command) { result in
            switch result {
            case .success(let index):
                if case .reschedule = command { wake() }
                reply(AdminServer.response(200, json: ["ok": true, "index": Int(index)], keepAlive: keepAlive))
            case .failure(let e) where e.code == .notFound:
                reply(AdminServer.response(404, json: ["error": e.reason], keepAlive: keepAlive))
            case .failure(let e):
                reply(AdminServer.response(e.code == .storageFull ? 507 : 409, json: ["error": e.reason], keepAlive: keepAlive))
            }
        }
    }
}

extension AdminServer {
    /// The request path split on `/`, each segment percent-decoded (`bad%40example.net`).
    static func pathSegments(_ request: HTTPRequest) -> [String] {
        request.path.split(separator: "/", omittingEmptySubsequences: true).map {
            HTTPQuery.percentDecode(String($0)) ?? String($0)
        }
    }
}
