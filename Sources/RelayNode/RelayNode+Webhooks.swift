import ClusterLog
import NetworkIO
import SpoolStore

extension RelayNode {
    /// Starts the webhook dispatcher: in a cluster each endpoint is sent by one live member
    /// (rendezvous hashing, like delivery domains); a single node sends them all.
    func startWebhooks(store: SpoolStore, log: any ReplicatedLog, raft: RaftLog?, loops: [EventLoop]) -> WebhookDispatcher {
        let me = config.node.id
        let owner: @Sendable (String) -> String? = { key in
            guard let raft else { return me }
            return raft.preferredOwner(for: key)
        }
        let d = WebhookDispatcher(config: config, store: store, log: log, nodeID: me, loops: loops,
                                  logger: logger, preferredOwner: owner)
        d.start()
        return d
    }
}
