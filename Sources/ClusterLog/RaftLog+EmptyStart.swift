import RaftCore

/// A node whose raft storage is empty when it starts, in a cluster (a machine replaced after
/// losing its disk, under its old id; a node joining with `cluster.join`), neither campaigns nor
/// votes for a candidate with a non-empty log until it holds everything a leader had committed
/// (`Raft.Config.catchingUp`). The mark is persisted at start and cleared when Raft reports the
/// node caught up. In a brand-new cluster every node starts empty: they elect their first leader
/// among empty logs, and clear the mark at its first append.
extension RaftLog {
    /// Whether the node starts catching up; marks a storage opened empty in a cluster. Blocks (one
    /// fsynced write the first time).
    static func catchingUp(_ storage: RaftLogStorage, _ options: Options) throws(ClusterError) -> Bool {
        if storage.openedEmpty && !(options.peers.isEmpty && options.initialVoters == nil) {
            try storage.setCatchingUp(true)
        }
        return storage.catchingUp
    }

    /// After a Ready was persisted: clears the persisted mark once Raft caught up. Loop thread.
    func noteCatchUp() {
        guard storage.catchingUp, !raft.isCatchingUp else { return }
        do {
            try storage.setCatchingUp(false)
            log("info", "caught up with the leader: voting again", ["commit": "\(raft.commitIndex)", "term": "\(raft.term)"])
        } catch {
            log("error", "persisting the end of catch-up failed", ["error": "\(error)"])
        }
    }
}
