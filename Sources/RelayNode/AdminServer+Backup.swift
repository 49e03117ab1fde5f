import Foundation
import HTTPCore

extension AdminServer {
    /// `GET /v1/backup`: a consistent copy of this node's spool (and raft log on a cluster member)
    /// as one `NodeBackup` archive (`application/octet-stream`), built in memory while the node
    /// keeps running; blocks this admin loop for the copy. Nil for other paths. Needs the operator
    /// token (the caller checked that the token is valid).
    func backupResponse(for request: HTTPRequest, keepAlive: Bool) -> [UInt8]? {
        guard request.method == "GET", AdminServer.pathSegments(request) == ["v1", "backup"] else { return nil }
        guard authorizedRequest(request) else {
            // A backup holds every message body and credential hash: the operator token only.
            return AdminServer.response(403, json: ["error": "a backup needs the operator token"], keepAlive: keepAlive)
        }
        do {
            let archive = try NodeBackup.make(store: store, raft: raft, nodeID: nodeID, dataDir: config.node.dataDir)
            logger.log(.info, "backup taken", fields: [("bytes", "\(archive.count)")])
            return AdminServer.response(200, body: archive, contentType: "application/octet-stream", keepAlive: keepAlive)
        } catch {
            logger.log(.error, "backup failed", fields: [("error", "\(error)")])
            return AdminServer.response(500, json: ["error": "backup failed: \(error)"], keepAlive: keepAlive)
        }
    }
}
