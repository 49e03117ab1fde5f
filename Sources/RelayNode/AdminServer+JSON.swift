import Foundation
import HTTPCore
import SpoolStore

extension AdminServer {
    /// Serialises a JSON response.
    static func response(_ status: Int, json: Any, keepAlive: Bool, extra: [(String, String)] = []) -> [UInt8] {
        let body = (try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])) ?? Data("{}".utf8)
        return response(status, body: Array(body), contentType: "application/json", keepAlive: keepAlive, extra: extra)
    }

    /// Serialises a response with a body.
    static func response(_ status: Int, body: [UInt8], contentType: String, keepAlive: Bool,
                         extra: [(String, String)] = []) -> [UInt8] {
        var headers = HTTPHeaders()
        headers.add("Content-Type", contentType)
        for (k, v) in extra { headers.add(k, v) }
        headers.add("Cache-Control", "no-store")
        return HTTPResponse(status: status, headers: headers, body: body).serialize(keepAlive: keepAlive)
    }

    static func time(_ ms: Int64) -> String { RFC3339.format(millis: ms) }

    static func json(_ e: QueueEntry) -> [String: Any] {
        var out: [String: Any] = [
            "queueId": e.queueID, "tenant": e.tenant, "sender": e.sender, "size": e.size,
            "receivedAt": time(e.receivedAt), "attempts": Int(e.attempts),
            "recipients": e.recipients.map { ["address": $0.address, "status": "\($0.status)"] },
        ]
        if let n = e.nextAttemptAt { out["nextAttemptAt"] = time(n) }
        if let o = e.leaseOwner { out["leaseOwner"] = o }
        return out
    }

    static func json(_ m: StoredMessage) -> [String: Any] {
        var out: [String: Any] = [
            "queueId": m.queueID, "messageId": m.messageID, "tenant": m.tenant, "authUser": m.authUser,
            "clientIP": m.clientIP, "sender": m.sender, "receivedAt": time(m.receivedAt), "size": m.bodySize,
            "attempts": Int(m.attempts), "envid": m.dsnEnvelopeID,
            "recipients": m.recipients.map { r -> [String: Any] in
                var d: [String: Any] = ["address": r.address, "status": "\(r.status)"]
                if !r.originalRecipient.isEmpty { d["orcpt"] = r.originalRecipient }
                if r.lastCode != 0 {
                    d["lastCode"] = Int(r.lastCode)
                    d["lastEnhancedCode"] = r.lastEnhancedCode
                    d["lastResponse"] = r.lastResponse
                    d["lastRemoteHost"] = r.lastRemoteHost
                    d["lastBounceClass"] = r.lastBounceClass
                }
                if r.nextAttemptAt > 0 { d["nextAttemptAt"] = time(r.nextAttemptAt) }
                return d
            },
        ]
        if let l = m.lease {
            out["lease"] = ["owner": l.owner, "attempt": Int(l.attempt), "expiresAt": time(l.expiresAt)]
        }
        return out
    }
}
