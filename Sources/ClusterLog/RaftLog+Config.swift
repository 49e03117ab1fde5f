import Foundation
import RelayConfig

extension RaftLog.Options {
    /// Options for the node described by `config`: `node.id`, `cluster.peers` (id → address),
    /// `listen.peer` (where the transport listens), the secret read from `cluster.secretFile`, and
    /// the raft storage in `node.dataDir/raft`, and mutual TLS from `cluster.tls` when present. Throws `.invalidConfig` when `listen.peer` or the
    /// secret is missing. Pure; any thread.
    public init(config: RelayConfig) throws {
        guard let listen = config.listen.peer else {
            throw ClusterError(.invalidConfig, "listen.peer is required for a cluster", context: "listen.peer")
        }
        guard let secret = config.cluster.secret, !secret.isEmpty else {
            throw ClusterError(.invalidConfig, "cluster.secretFile is required for a cluster", context: "cluster.secretFile")
        }
        var peers: [String: String] = [:]
        for p in config.cluster.peers { peers[p.id] = p.address.description }
        self.init(nodeID: config.node.id, peers: peers, listen: listen.description, secret: Array(secret.utf8),
                  directory: config.node.dataDir + "/raft")
        if let region = config.cluster.preferredLeaderRegion {
            preferredLeaders = Set(([(config.node.id, config.node.region)] + config.cluster.peers.map { ($0.id, $0.region) })
                .filter { $0.1 == region }.map(\.0))
        }
        if config.cluster.join { initialVoters = config.cluster.peers.map(\.id) }
        bodiesInLog = config.cluster.bodiesInLog
        mapSize = config.cluster.raftMapSizeMB << 20
        maxMapSize = config.cluster.effectiveRaftMaxMapSizeMB << 20
        if let t = config.cluster.tls {
            tls = PeerTransport.TLSFiles(certificate: t.certificate, privateKey: t.privateKey, caFile: t.caFile)
        }
        applyCompactionOverrides(ProcessInfo.processInfo.environment)  // benchmarks only
    }
}
