import Foundation
import HTTPCore

extension Operator {
    /// `suspensions list|suspend|lift`, `limits show` and `quarantine list|release|delete`
    /// (issue 11); nil for other commands.
    static func limitsCommand(_ command: String, _ positional: [String], _ named: [String: String],
                              _ target: AdminTarget) throws -> Int32? {
        switch (command, positional.first) {
        case ("suspensions", "list"):
            return try show(target.get("/v1/suspensions"))
        case ("suspensions", "suspend"):
            guard positional.count == 3 else { throw CLIError("usage: sendarix suspensions suspend TENANT USERNAME [--reason R]") }
            let body = ["tenant": positional[1], "username": positional[2], "reason": named["reason"] ?? "suspended by an operator"]
            return try show(target.request("POST", "/v1/suspensions", body: try JSONSerialization.data(withJSONObject: body)))
        case ("suspensions", "lift"):
            guard positional.count == 3 else { throw CLIError("usage: sendarix suspensions lift TENANT USERNAME") }
            return try show(target.request("DELETE", "/v1/suspensions/\(HTTPQuery.percentEncode(positional[1]))/\(HTTPQuery.percentEncode(positional[2]))"))
        case ("limits", "show"):
            let query = named["subject"].map { "?subject=" + HTTPQuery.percentEncode($0) } ?? ""
            return try show(target.get("/v1/limits" + query))
        case ("quarantine", "list"):
            return try show(target.get("/v1/quarantine"))
        case ("quarantine", "release"), ("quarantine", "delete"):
            guard positional.count == 2 else { throw CLIError("usage: sendarix quarantine \(positional[0]) ID") }
            let path = "/v1/quarantine/\(HTTPQuery.percentEncode(positional[1]))"
            return try show(positional[0] == "release" ? target.request("POST", path + "/release") : target.request("DELETE", path))
        default:
            return nil
        }
    }
}
