import Dispatch
import Foundation
import HTTPCore
import Registry
import RelayConfig

extension AdminServer {
    /// `/v1/tenants` (list, create) and `/v1/tenants/T/credentials…` (create, list, show, change,
    /// rotate, suspend, resume, revoke). Runs on a worker thread (PBKDF2 and log commits block)
    /// and answers later; nil for other paths or without a valid token (GET needs any token,
    /// changes the operator's).
    func credentialAction(for request: HTTPRequest, keepAlive: Bool) -> ((@escaping @Sendable ([UInt8]) -> Void) -> Void)? {
        let parts = AdminServer.pathSegments(request)
        guard parts.count >= 2, parts[0] == "v1", parts[1] == "tenants",
              parts.count == 2 || (parts.count >= 4 && parts[3] == "credentials"),
              let role = role(request), role == .operatorAccess || request.method == "GET" else { return nil }
        guard let credentials else {
            return { reply in reply(AdminServer.response(503, json: ["error": "credentials are not available on this node"], keepAlive: keepAlive)) }
        }
        let method = request.method
        let body = request.body
        let configUsers = Set(config.users.map(\.name))
        let pools = Set(config.delivery.pools.map(\.name) + ["default"])
        return { reply in
            DispatchQueue.global().async {
                reply(Self.credentialResponse(credentials, method: method, parts: parts, body: body,
                                              configUsers: configUsers, pools: pools, keepAlive: keepAlive))
            }
        }
    }

    static func credentialResponse(_ credentials: Credentials, method: String, parts: [String], body: [UInt8],
                                   configUsers: Set<String>, pools: Set<String> = ["default"], keepAlive: Bool) -> [UInt8] {
        func ok(_ status: Int, _ json: Any) -> [UInt8] { response(status, json: json, keepAlive: keepAlive) }
        let object = ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:]
        do {
            switch (method, parts.count) {
            case ("GET", 2):
                return ok(200, ["tenants": try credentials.tenants().map(tenantJSON)])
            case ("POST", 2):
                guard let name = object["name"] as? String, !name.isEmpty else {
                    return ok(400, ["error": "body must be JSON {\"name\": \"acme\"} (optional \"senderPolicy\", \"allowSubdomains\", \"limits\")"])
                }
                var s = TenantSettings(name: name)
                if let p = object["senderPolicy"] as? String {
                    guard let policy = TenantSettings.SenderPolicy(rawValue: p) else {
                        return ok(400, ["error": "senderPolicy must be one of enforce, sign-only, off"])
                    }
                    s.senderPolicy = policy
                }
                if let a = object["allowSubdomains"] as? Bool { s.allowSubdomains = a }
                s.limits = try limits(object["limits"])
                try credentials.createTenant(s)
                return ok(201, tenantJSON(s))
            case ("GET", 4):
                return ok(200, ["credentials": try credentials.list(tenant: parts[2]).map(credentialJSON)])
            case ("POST", 4):
                let (c, password) = try credentials.create(
                    tenant: parts[2], username: object["username"] as? String, password: object["password"] as? String,
                    passwordHash: object["passwordHash"] as? String, settings: try settings(object, pools: pools),
                    configUsers: configUsers)
                var out = credentialJSON(c)
                out["username"] = c.username
                if let password { out["password"] = password }
                return ok(201, out)
            case ("GET", 5):
                return ok(200, credentialJSON(try credentials.existing(tenant: parts[2], username: parts[4])))
            case ("PUT", 5), ("PATCH", 5):
                let current = try credentials.existing(tenant: parts[2], username: parts[4])
                let c = try credentials.update(tenant: parts[2], username: parts[4], settings: try settings(object, over: current, pools: pools))
                return ok(200, credentialJSON(c))
            case ("DELETE", 5):
                try credentials.revoke(tenant: parts[2], username: parts[4])
                return ok(200, ["ok": true, "username": parts[4], "revoked": true])
            case ("POST", 6) where parts[5] == "rotate":
                let grace = (object["graceSeconds"] as? Int) ?? 86_400
                let (password, until) = try credentials.rotate(tenant: parts[2], username: parts[4],
                                                               password: object["password"] as? String, graceSeconds: grace)
                return ok(200, ["username": parts[4], "password": password, "previousValidUntil": time(until)])
            case ("POST", 6) where parts[5] == "suspend" || parts[5] == "resume":
                let c = try credentials.setState(tenant: parts[2], username: parts[4], suspended: parts[5] == "suspend",
                                                 reason: object["reason"] as? String ?? "")
                return ok(200, credentialJSON(c))
            default:
                return noSuchResource(method, parts, keepAlive: keepAlive)
            }
        } catch {
            return failureResponse(error, keepAlive: keepAlive)
        }
    }

    /// Credential settings from a request body; fields left out keep `current`'s values.
    static func settings(_ o: [String: Any], over current: Credential? = nil, pools: Set<String>) throws -> Credential.Settings {
        var s = Credential.Settings()
        s.allowedNetworks = (o["allowedNetworks"] as? [String]) ?? current?.allowedNetworks ?? []
        s.allowedSenderDomains = ((o["allowedSenderDomains"] as? [String])?.map { $0.lowercased() }) ?? current?.allowedSenderDomains ?? []
        s.sourcePool = o.keys.contains("sourcePool") ? o["sourcePool"] as? String : current?.sourcePool
        s.environment = o.keys.contains("environment") ? o["environment"] as? String : current?.environment
        s.platform = o.keys.contains("platform") ? o["platform"] as? Bool : current?.platform
        s.limits = o.keys.contains("limits") ? try limits(o["limits"]) : current?.limits
        if let p = s.sourcePool, !pools.contains(p) {
            throw OperatorError.invalid("source pool \(p) is not one of this node's delivery.pools")
        }
        return s
    }

    /// `SendingLimits` from JSON (an object of the limit names); nil for null or absent.
    static func limits(_ value: Any?) throws -> SendingLimits? {
        guard let value, !(value is NSNull) else { return nil }
        guard let o = value as? [String: Any] else { throw OperatorError.invalid("limits must be an object") }
        let data = try JSONSerialization.data(withJSONObject: o)
        do {
            return try JSONDecoder().decode(SendingLimits.self, from: data)
        } catch {
            throw OperatorError.invalid("limits: \(error)")
        }
    }

    static func limitsJSON(_ l: SendingLimits?) -> Any {
        guard let l, let data = try? JSONEncoder().encode(l), let o = try? JSONSerialization.jsonObject(with: data) else { return NSNull() }
        return o
    }

    static func tenantJSON(_ s: TenantSettings) -> [String: Any] {
        ["tenant": s.name, "senderPolicy": s.senderPolicy.rawValue, "allowSubdomains": s.allowSubdomains, "limits": limitsJSON(s.limits)]
    }

    /// A credential as the API shows it: never a password hash.
    static func credentialJSON(_ c: Credential) -> [String: Any] {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var out: [String: Any] = [
            "username": c.username, "tenant": c.tenant, "state": c.state.rawValue, "allowedNetworks": c.allowedNetworks,
            "allowedSenderDomains": c.allowedSenderDomains, "platform": c.isPlatform, "createdAt": time(c.createdAt),
            "limits": limitsJSON(c.limits),
            "passwords": c.validPasswords(at: now).map { p -> [String: Any] in
                var o: [String: Any] = ["createdAt": time(p.createdAt),
                                        "iterations": PasswordHasher.declaredIterations(p.hash) ?? 0]
                if let e = p.expiresAt { o["expiresAt"] = time(e) }
                return o
            },
        ]
        if !c.stateReason.isEmpty { out["stateReason"] = c.stateReason }
        if let p = c.sourcePool { out["sourcePool"] = p }
        if let e = c.environment { out["environment"] = e }
        if let t = c.lastUsedAt { out["lastUsedAt"] = time(t) }
        if let ip = c.lastUsedIP { out["lastUsedIP"] = ip }
        return out
    }
}
