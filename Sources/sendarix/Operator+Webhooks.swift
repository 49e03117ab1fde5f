import Foundation
import HTTPCore

extension Operator {
    /// Usage lines of the `webhooks` verb.
    static let webhooksUsage = """
      webhooks create URL --tenant T [--events accepted,delivered,…] [--concurrency N] [--rate N] [--batch-max-events N]
                                       add an endpoint; prints its id and whsec_ secret (shown once)
      webhooks list [--tenant T]       endpoints with status, backlog and failures
      webhooks show ID                 one endpoint
      webhooks update ID [--url U] [--events …] [--concurrency N] [--rate N] [--batch-max-events N (0: default)]
      webhooks delete ID               remove an endpoint and its outbox
      webhooks rotate ID [--grace-seconds S]
                                       new secret; the old one keeps signing for S seconds (default 86400)
      webhooks pause ID | resume ID    stop / restart sending (resume also re-enables after a 410)
      webhooks replay ID [--since TIME] [--until TIME]
                                       send finished calls of that time range again (same webhook-id)
      webhooks attempts ID [--limit N] recent attempts: status, latency, response
    """

    /// `sendarix webhooks …`. Blocks on the network.
    static func webhooks(_ named: [String: String], _ positional: [String], _ target: AdminTarget) throws -> Int32 {
        func usage() -> CLIError { CLIError("usage:\n" + webhooksUsage) }
        guard let verb = positional.first, verb != "help" else { throw usage() }
        func body(_ object: [String: Any]) throws -> Data { try JSONSerialization.data(withJSONObject: object) }
        func edits() -> [String: Any] {
            var b: [String: Any] = [:]
            if let u = named["url"] { b["url"] = u }
            if let e = named["events"] { b["events"] = e.split(separator: ",").map(String.init) }
            if let c = named["concurrency"], let n = Int(c) { b["concurrency"] = n }
            if let r = named["rate"], let n = Int(r) { b["rate"] = n }
            if let m = named["batch-max-events"], let n = Int(m) { b["batchMaxEvents"] = n }
            return b
        }
        if verb == "list" {
            let q = named["tenant"].map { "?tenant=" + HTTPQuery.percentEncode($0) } ?? ""
            return try show(target.get("/v1/webhooks" + q))
        }
        guard positional.count == 2 else { throw usage() }
        let arg = positional[1]
        let path = "/v1/webhooks/" + HTTPQuery.percentEncode(arg)
        switch verb {
        case "create":
            guard let tenant = named["tenant"] else { throw usage() }
            var b = edits()
            b["url"] = arg
            b["tenant"] = tenant
            if b["events"] == nil { b["events"] = [String]() }
            return try show(target.request("POST", "/v1/webhooks", body: try body(b)))
        case "show": return try show(target.get(path))
        case "update": return try show(target.request("PATCH", path, body: try body(edits())))
        case "delete": return try show(target.request("DELETE", path))
        case "rotate":
            let grace = Int(named["grace-seconds"] ?? "") ?? 86_400
            return try show(target.request("POST", path + "/rotate", body: try body(["graceSeconds": grace])))
        case "pause", "resume": return try show(target.request("POST", path + "/" + verb, body: try body([:])))
        case "replay":
            var b: [String: Any] = [:]
            if let s = named["since"] { b["since"] = s }
            if let u = named["until"] { b["until"] = u }
            return try show(target.request("POST", path + "/replay", body: try body(b)))
        case "attempts":
            return try show(target.get(path + "/attempts?limit=" + HTTPQuery.percentEncode(named["limit"] ?? "100")))
        default:
            throw usage()
        }
    }
}
