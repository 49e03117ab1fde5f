import RaftCore

/// The persisted "catching up" mark of a node whose raft storage started empty in a cluster
/// (a replaced machine, a joining node): `Raft.Config.catchingUp`. Set before the node first
/// talks to a peer, cleared once Raft reports it caught up; a restart in between keeps it.
extension RaftLogStorage {
    static let catchingUpKey = Array("catchingUp".utf8)

    /// Persists the mark (one fsynced write when it changes). Driving thread; blocks.
    public func setCatchingUp(_ on: Bool) throws(ClusterError) {
        guard on != catchingUp else { return }
        try write { txn throws(ClusterError) in
            if on { try txn.put(dbMeta, Self.catchingUpKey, [1]) } else { try txn.delete(dbMeta, Self.catchingUpKey) }
        }
        catchingUp = on
    }
}
