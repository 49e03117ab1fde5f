import Foundation
import SendarixSupport
import Synchronization
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
        guard parts.count >= 2, parts[0] == "v1", ["suspensions", "limits", "quarantine"].contains(parts[1]),
              let role = role(request), role == .operatorAccess || request.method == "GET" else { return nil }
        if parts[1] == "quarantine" {
            let (store, log, wake, method) = (store, log, onRescheduled, request.method)
            return { reply in
                DispatchQueue.global().async {
                    reply(Self.quarantineResponse(store: store, log: log, wake: wake, method: method, parts: parts, keepAlive: keepAlive))
                }
            }
        }
        guard let limits = sendingLimits else {
            return { reply in reply(AdminServer.response(503, json: ["error": "limits are not available on this node"], keepAlive: keepAlive)) }
        }
        let method = request.method
        let body = request.body
        let subject = request.query("subject")
        let spam = spamScorer
        return { reply in
            DispatchQueue.global().async {
                reply(Self.limitsResponse(limits, spam: spam, method: method, parts: parts, body: body, subject: subject,
                                          keepAlive: keepAlive))
            }
        }
    }

    static func limitsResponse(_ limits: SendingLimiter, spam: SpamScorer?, method: String, parts: [String], body: [UInt8], subject: String?,
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
            if let spam {
                let s = spam.counters.withLock { $0 }
                out["spamFilter"] = ["scored": s.scored, "failures": s.failures, "tagged": s.tagged, "held": s.held,
                                     "rejected": s.rejected]
            }
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

    /// `GET /v1/quarantine` (held messages, without bodies), `POST /v1/quarantine/ID/release`
    /// (queued as accepted, then removed from the quarantine), `DELETE /v1/quarantine/ID`.
    static func quarantineResponse(store: SpoolStore, log: any ReplicatedLog, wake: @escaping @Sendable () -> Void,
                                   method: String, parts: [String], keepAlive: Bool) -> [UInt8] {
        func ok(_ status: Int, _ json: Any) -> [UInt8] { response(status, json: json, keepAlive: keepAlive) }
        func commit(_ command: SpoolCommand) -> Result<UInt64, StoreError> {
            let done = DispatchSemaphore(value: 0)
            let result = Mutex<Result<UInt64, StoreError>?>(nil)
            log.propose(command) { r in
                result.withLock { $0 = r }
                done.signal()
            }
            done.wait()
            return result.withLock { $0! }
        }
        switch (method, parts.count) {
        case ("GET", 2):
            let held = ((try? store.registryRecords(prefix: RegistryKeys.quarantinePrefix)) ?? []).compactMap(\.quarantined)
            return ok(200, ["messages": held.sorted { $0.at < $1.at }.map {
                ["id": $0.id, "tenant": $0.tenant, "user": $0.user, "sender": $0.sender, "recipients": $0.recipients,
                 "score": $0.score, "symbols": $0.symbols, "size": $0.size, "heldAt": RFC3339.format(millis: $0.at)] as [String: Any]
            }])
        case ("POST", 4) where parts[3] == "release", ("DELETE", 3):
            let id = parts[2]
            guard let held = (try? store.registryRecord(RegistryKeys.quarantine(id)))??.quarantined else {
                return ok(404, ["error": "no held message \(id)"])
            }
            if method == "POST" {
                guard let bytes = Base64Codec.decodeStrict(Array(held.command.utf8)),
                      let command = try? SpoolCommand(decoding: bytes) else {
                    return ok(500, ["error": "the held message \(id) cannot be decoded"])
                }
                if case .failure(let e) = commit(command), e.code != .duplicate { return ok(503, ["error": e.description]) }
                wake()
            }
            switch commit(.registry(.limits(.unhold(id: id)))) {
            case .success: return ok(200, ["ok": true, "id": id, "released": method == "POST"])
            case .failure(let e): return ok(409, ["error": e.description])
            }
        default:
            return ok(404, ["error": "no such quarantine resource"])
        }
    }
}
