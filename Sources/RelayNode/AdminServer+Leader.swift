import ClusterLog
import Foundation
import HTTPCore

extension AdminServer {
    /// `POST /v1/cluster/leader` with `{"to": "n3"}` (operator token): the leader hands leadership
    /// to member `n3` and answers 200 `{"ok": true, "leader": "n3"}` once it moved, 409 when this
    /// node is not the leader, `n3` is not a voter, or the transfer did not finish within two
    /// election timeouts; 400 for a body without `to`. Single nodes answer 409.
    func leaderAction(for request: HTTPRequest, keepAlive: Bool)
        -> ((@escaping @Sendable ([UInt8]) -> Void) -> Void)? {
        guard request.method == "POST", authorizedRequest(request),
              AdminServer.pathSegments(request) == ["v1", "cluster", "leader"] else { return nil }
        guard let raft else {
            return { $0(AdminServer.response(409, json: ["error": "not a cluster node (no cluster.peers)"], keepAlive: keepAlive)) }
        }
        guard let obj = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
              let target = obj["to"] as? String, !target.isEmpty else {
            return { $0(AdminServer.response(400, json: ["error": "body must be JSON {\"to\": \"<node id>\"}"], keepAlive: keepAlive)) }
        }
        return { reply in
            raft.transferLeadership(to: target) { result in
                switch result {
                case .success: reply(AdminServer.response(200, json: ["ok": true, "leader": target], keepAlive: keepAlive))
                case .failure(let e): reply(AdminServer.response(409, json: ["error": "\(e)"], keepAlive: keepAlive))
                }
            }
        }
    }
}
