extension Raft {
    func validate(_ cc: ConfChange) throws(Raft.Error) {
        let n = cc.nodeID
        guard n != 0 else { throw Raft.Error(.invalidConfChange, "node id 0 is reserved") }
        switch cc.kind {
        case .addLearner:
            if voters.contains(n) || learners.contains(n) {
                throw Raft.Error(.invalidConfChange, "node \(n) is already a member")
            }
        case .promoteToVoter:
            if !learners.contains(n) {
                throw Raft.Error(.invalidConfChange, "node \(n) is not a learner")
            }
        case .removeNode:
            if !voters.contains(n) && !learners.contains(n) {
                throw Raft.Error(.invalidConfChange, "node \(n) is not a member")
            }
            if voters == [n] {
                throw Raft.Error(.invalidConfChange, "cannot remove the last voter \(n)")
            }
        }
    }

    /// Applies a committed membership change (call it when applying an entry of kind
    /// `.confChange`, with the decoded payload) and returns the new membership, which the
    /// application persists. Changes that no longer fit are ignored (idempotent on replay).
    /// A leader removed from the voters steps down. Does not block.
    @discardableResult
    public func applyConfChange(_ cc: ConfChange) -> ConfState {
        let n = cc.nodeID
        switch cc.kind {
        case .addLearner:
            if !voters.contains(n) && !learners.contains(n) && n != 0 {
                learners.insert(n)
                if role == .leader && progress[n] == nil {
                    progress[n] = newProgress(n, learner: true, last: log.lastIndex)
                    progress[n]!.match = 0
                }
            }
        case .promoteToVoter:
            if learners.contains(n) {
                learners.remove(n)
                voters.insert(n)
                progress[n]?.isLearner = false
            }
        case .removeNode:
            if voters.contains(n) || learners.contains(n), !(voters == [n]) {
                voters.remove(n)
                learners.remove(n)
                if role == .leader {
                    progress[n] = nil
                    if leadTransferee == n { leadTransferee = 0 }
                }
            }
        }
        if role == .leader {
            if !voters.contains(id) {
                becomeFollower(term: term, leader: 0)
            } else {
                if maybeCommit() {
                    bcastAppend()
                } else if cc.kind == .addLearner {
                    sendAppend(to: n)
                }
            }
        }
        return confState
    }
}
