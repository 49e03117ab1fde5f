import Dispatch
import Foundation
import HTTPCore
import Registry

extension AdminServer {
    /// `/v1/domains…` and `/v1/tenants/T`: sending domains and tenant sender policy. Every call
    /// runs on a worker thread (key generation, DNS lookups and log commits block) and answers
    /// later; nil for other paths or without a valid token.
    func domainAction(for request: HTTPRequest, keepAlive: Bool) -> ((@escaping @Sendable ([UInt8]) -> Void) -> Void)? {
        let parts = AdminServer.pathSegments(request)
        guard parts.count >= 2, parts[0] == "v1", parts[1] == "domains" || (parts[1] == "tenants" && parts.count == 3),
              let role = role(request), role == .operatorAccess || request.method == "GET" else { return nil }
        guard let domains else {
            return { reply in reply(AdminServer.response(503, json: ["error": "sending domains are not available on this node"], keepAlive: keepAlive)) }
        }
        let method = request.method
        let body = request.body
        let tenantFilter = request.query("tenant")
        return { reply in
            DispatchQueue.global().async {
                reply(Self.domainResponse(domains, method: method, parts: parts, body: body, tenant: tenantFilter,
                                          keepAlive: keepAlive))
            }
        }
    }

    static func domainResponse(_ domains: SendingDomains, method: String, parts: [String], body: [UInt8], tenant: String?,
                               keepAlive: Bool) -> [UInt8] {
        func ok(_ status: Int, _ json: Any) -> [UInt8] { response(status, json: json, keepAlive: keepAlive) }
        let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        do {
            switch (method, parts.count, parts[1]) {
            case ("POST", 2, "domains"):
                guard let object, let name = object["domain"] as? String, let tenant = object["tenant"] as? String else {
                    return ok(400, ["error": "body must be JSON {\"domain\": \"example.com\", \"tenant\": \"acme\"} (optional \"privateKey\" PEM and \"selector\" to import a key)"])
                }
                let view = try domains.add(name: name, tenant: tenant, selector: object["selector"] as? String,
                                           importedPEM: object["privateKey"] as? String)
                return ok(201, json(view))
            case ("GET", 2, "domains"):
                return ok(200, ["domains": try domains.list(tenant: tenant).map(json)])
            case ("GET", 3, "domains"):
                return ok(200, json(try domains.view(parts[2])))
            case ("POST", 4, "domains") where parts[3] == "verify":
                return ok(200, json(try domains.verify(parts[2])))
            case ("POST", 4, "domains") where parts[3] == "rotate":
                return ok(200, json(try domains.rotate(parts[2])))
            case ("DELETE", 3, "domains"):
                try domains.remove(parts[2])
                return ok(200, ["ok": true])
            case ("GET", 3, "tenants"):
                return ok(200, tenantJSON(domains.tenantSettings(parts[2])))
            case ("PUT", 3, "tenants"), ("POST", 3, "tenants"):
                var s = domains.tenantSettings(parts[2])
                if let p = object?["senderPolicy"] as? String {
                    guard let policy = TenantSettings.SenderPolicy(rawValue: p) else {
                        return ok(400, ["error": "senderPolicy must be one of enforce, sign-only, off"])
                    }
                    s.senderPolicy = policy
                }
                if let a = object?["allowSubdomains"] as? Bool { s.allowSubdomains = a }
                if let object, object.keys.contains("limits") { s.limits = try limits(object["limits"]) }
                try domains.setTenant(s)
                return ok(200, tenantJSON(s))
            default:
                return noSuchResource(method, parts, keepAlive: keepAlive)
            }
        } catch {
            return failureResponse(error, keepAlive: keepAlive)
        }
    }

    /// A domain as the API shows it: never a private key.
    static func json(_ v: SendingDomains.View) -> [String: Any] {
        let d = v.domain
        var out: [String: Any] = [
            "domain": d.name, "tenant": d.tenant, "status": d.status.rawValue, "returnPath": d.returnPath,
            "createdAt": time(d.createdAt), "signing": d.signs, "records": v.records,
            "keys": d.keys.map { k -> [String: Any] in
                var key: [String: Any] = ["selector": k.selector, "algorithm": k.algorithm, "state": k.state.rawValue,
                                          "createdAt": time(k.createdAt)]
                if let r = k.retiresAt { key["retiresAt"] = time(r) }
                return key
            },
        ]
        if !d.statusReason.isEmpty { out["statusReason"] = d.statusReason }
        if let c = d.checkedAt { out["checkedAt"] = time(c) }
        if let v = d.verifiedAt { out["verifiedAt"] = time(v) }
        return out
    }
}
