import NetworkIO
import RaftCore

/// Whether this node has caught up with the leader (for readiness): a follower asks the leader for
/// its commit index with a Raft read-index round and compares it with what it applied.
extension RaftLog {
    /// The context marking this node's catch-up read-index requests.
    static let catchUpContext: [UInt8] = Array("sendarix-catch-up".utf8)

    /// Asks the leader (through Raft ReadIndex) for its current commit index; the answer shows in
    /// `leaderCommit`. Does nothing without a known leader; on the leader it records its own
    /// commit index. Returns at once; any thread.
    public func requestLeaderCommit() {
        let me = LoopBound(self, loop: loop)
        loop.execute {
            let log = me.value
            guard !log.stopping, log.raft.leader != 0 else { return }
            if log.raft.role == .leader {
                let c = log.raft.commitIndex
                log.shared.withLock { $0.leaderCommit = c }
                return
            }
            try? log.raft.readIndex(context: Self.catchUpContext)
            log.scheduleProcess()
        }
    }

    /// The leader's commit index from the last answered `requestLeaderCommit`, nil before one.
    /// Any thread.
    public var leaderCommit: UInt64? { shared.withLock { $0.leaderCommit } }

    /// Loop thread: records the answers to catch-up read-index requests.
    func noteReadStates(_ states: [Raft.ReadState]) {
        for s in states where s.context == Self.catchUpContext {
            shared.withLock { $0.leaderCommit = Swift.max($0.leaderCommit ?? 0, s.index) }
        }
    }
}
