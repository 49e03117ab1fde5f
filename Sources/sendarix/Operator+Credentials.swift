import Foundation
import HTTPCore

extension Operator {
    /// `tenants list|create` and `credentials …`: tenants and API-managed SMTP credentials. nil
    /// for other commands.
    static func credentialCommand(_ command: String, _ positional: [String], _ named: [String: String],
                                  _ target: AdminTarget) throws -> Int32? {
        func path(_ tenant: String, _ user: String? = nil) -> String {
            "/v1/tenants/" + HTTPQuery.percentEncode(tenant) + "/credentials" + (user.map { "/" + HTTPQuery.percentEncode($0) } ?? "")
        }
        func list(_ flag: String) -> [String]? {
            named[flag].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        }
        func settings() -> [String: Any] {
            var body: [String: Any] = [:]
            if let v = list("networks") { body["allowedNetworks"] = v }
            if let v = list("sender-domains") { body["allowedSenderDomains"] = v }
            if let v = named["pool"] { body["sourcePool"] = v }
            if let v = named["environment"] { body["environment"] = v }
            if let v = named["platform"] { body["platform"] = v == "true" }
            return body
        }
        switch (command, positional.first) {
        case ("tenants", "list"):
            return try show(target.get("/v1/tenants"))
        case ("tenants", "create"):
            guard positional.count == 2 else { throw CLIError("usage: sendarix tenants create TENANT [--sender-policy P]") }
            var body: [String: Any] = ["name": positional[1]]
            if let p = named["sender-policy"] { body["senderPolicy"] = p }
            return try show(target.request("POST", "/v1/tenants", body: try JSONSerialization.data(withJSONObject: body)))
        case ("credentials", "create"):
            guard positional.count == 2 else {
                throw CLIError("usage: sendarix credentials create TENANT [--username U] [--networks CIDR,…] [--sender-domains D,…] [--pool P] [--environment E] [--platform true]")
            }
            var body = settings()
            if let u = named["username"] { body["username"] = u }
            return try show(target.request("POST", path(positional[1]), body: try JSONSerialization.data(withJSONObject: body)))
        case ("credentials", "list"):
            guard positional.count == 2 else { throw CLIError("usage: sendarix credentials list TENANT") }
            return try show(target.get(path(positional[1])))
        case ("credentials", "show"), ("credentials", "revoke"):
            guard positional.count == 3 else { throw CLIError("usage: sendarix credentials \(positional[0]) TENANT USERNAME") }
            let p = path(positional[1], positional[2])
            return try show(positional[0] == "show" ? target.get(p) : target.request("DELETE", p))
        case ("credentials", "set"):
            guard positional.count == 3 else { throw CLIError("usage: sendarix credentials set TENANT USERNAME [--networks …] [--sender-domains …] [--pool P] [--environment E] [--platform true|false]") }
            return try show(target.request("PATCH", path(positional[1], positional[2]),
                                           body: try JSONSerialization.data(withJSONObject: settings())))
        case ("credentials", "rotate"), ("credentials", "suspend"), ("credentials", "resume"):
            guard positional.count == 3 else {
                throw CLIError("usage: sendarix credentials \(positional[0]) TENANT USERNAME [--grace-seconds N | --reason R]")
            }
            var body: [String: Any] = [:]
            if let g = named["grace-seconds"] { body["graceSeconds"] = Int(g) ?? -1 }
            if let r = named["reason"] { body["reason"] = r }
            return try show(target.request("POST", path(positional[1], positional[2]) + "/" + positional[0],
                                           body: try JSONSerialization.data(withJSONObject: body)))
        default:
            return nil
        }
    }
}
