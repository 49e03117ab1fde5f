import Foundation
import HTTPCore
import Registry
import SpoolStore

extension AdminServer {
    /// `/v1/suspensions` and `/v1/limits` (issue 11):
    /// - `GET /v1/suspensions`: every suspended credential with reason, who and when;
    /// - `POST /v1/suspensions` `{"tenant","username","reason"}`: suspends a credential;
    /// - `DELETE /v1/suspensions/T/U`: lifts a suspension;
    /// - `GET /v1/limits`: this node's refusal and detection counters.
    /// Runs on a worker (commits block); nil for other paths or without a valid token.
    func limitsAction(for request: HTTPRequest, keepAlive: Bool) -> ((@escaping @Sendable ([UInt8]) -> Void) -> Void)? {
        let parts = AdminServer.pathSegments(request)
        guard parts.count >= 2, parts[0] == "v1", parts[1] == "suspensions" || parts[1] == "limits",
              let role = role(request), role == .operatorAccess || request.method == "GET" else { return nil }
        guard let limits = sendingLimits else {
            return { reply in reply(AdminServer.response(503, json: ["error": "limits are not available on this node"], keepAlive: keepAlive)) }
        }
        let method = request.method
        let body = request.body
        let subject = request.query("subject")
        return { reply in
            DispatchQueue.global().async {
                reply(Self.limitsResponse(limits, method: method, parts: parts, body: body, subject: subject, keepAlive: keepAlive))
            }
        }
    }

    static func limitsResponse(_ limits: SendingLimiter, method: String, parts: [String], body: [UInt8], subject: String?,
                               keepAlive: Bool) -> [UInt8] {
        func ok(_ status: Int, _ json: Any) -> [UInt8] { response(status, json: json, keepAlive: keepAlive) }
        func committed(_ r: Result<Void, StoreError>) -> [UInt8] {
            switch r {
            case .success: return ok(200, ["ok": true])
            case .failure(let e) where e.code == .invalidCommand: return ok(409, ["error": e.reason])
            case .failure(let e): return ok(503, ["error": e.description])
            }
        }
        switch (method, parts.count, parts[1]) {
        case ("GET", 2, "limits"):
            let m = limits.metrics
            var out: [String: Any] = ["connectionsRefused": m.connectionsRefused, "ratesRefused": m.ratesRefused,
                                      "recipientsRefused": m.recipientsRefused, "suspendedRefused": m.suspendedRefused,
                                      "alerts": m.alerts, "suspensions": m.suspensions, "reportsProposed": m.reportsProposed]
            if let subject, !subject.isEmpty {
                let t = limits.totals(subject)
                out["usage"] = ["subject": subject, "messagesInSecond": t.messagesInSecond, "messagesInMinute": t.messagesInMinute,
                                "messagesInDay": t.messagesInDay, "recipientsInDay": t.recipientsInDay, "connections": t.connections]
            }
            return ok(200, out)
        case ("GET", 2, "suspensions"):
            return ok(200, ["suspensions": limits.suspensions.map {
                ["tenant": $0.tenant, "username": $0.username, "reason": $0.reason, "by": $0.by,
                 "since": RFC3339.format(millis: $0.at)] as [String: Any]
            }])
        case ("POST", 2, "suspensions"):
            guard let obj = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                  let tenant = obj["tenant"] as? String, let user = obj["username"] as? String, !tenant.isEmpty, !user.isEmpty else {
                return ok(400, ["error": "expected {\"tenant\": …, \"username\": …, \"reason\": …}"])
            }
            let reason = (obj["reason"] as? String) ?? "suspended by an operator"
            return committed(limits.suspend(tenant: tenant, username: user, reason: reason, by: "operator"))
        case ("DELETE", 4, "suspensions"):
            return committed(limits.lift(tenant: parts[2], username: parts[3], by: "operator"))
        default:
            return ok(404, ["error": "no such limits resource"])
        }
    }
}
