extension Raft {
    /// Voting rule of a node that started from an empty storage (`Config.catchingUp`): it may only
    /// vote for a candidate whose log is empty too (the first election of a brand-new cluster,
    /// where every node starts empty). Any other candidate is refused until this node has caught
    /// up, since its lost log may have been part of the majority that committed entries the
    /// candidate lacks, and its lost vote may have gone to another candidate in the same term.
    func mayVoteWhileCatchingUp(_ m: Message) -> Bool {
        !isCatchingUp || m.index == 0
    }

    /// Follower, after accepting an append: once this node's commit index reaches the leader's
    /// (it holds every entry the leader had committed when it sent `m`), it is an ordinary voter
    /// again. The leader knew of its own term's leadership then, so a vote the lost storage cast
    /// in this term cannot be repeated: a follower with a known leader grants no vote in its term.
    func noteCaughtUp(_ m: Message) {
        if isCatchingUp && log.committed >= m.commit { isCatchingUp = false }
    }
}
