extension Raft {
    /// Requests a linearizable read point (Raft §6.4 ReadIndex). `context` is a caller-chosen unique
    /// request id. The answer arrives later as a `ReadState` in `Ready.readStates` on this node: the
    /// leader confirms it still leads with a round of heartbeats; a follower asks the leader. Requests
    /// are dropped on leadership changes (retry after a timeout). Throws `.notLeader` when no leader
    /// is known. Does not block; call from the driving thread.
    public func readIndex(context: [UInt8]) throws(Raft.Error) {
        switch role {
        case .leader:
            handleReadIndex(context: context, from: id)
        case .follower where leader != 0:
            send(Message(kind: .readIndex, from: id, to: leader, term: term, context: context))
        default:
            throw Raft.Error(.notLeader, "no known leader to confirm a read", leaderHint: leader, context: "readIndex")
        }
    }

    /// Leader: registers a read from `from` (this node or a follower).
    func handleReadIndex(context: [UInt8], from: UInt64) {
        // A new leader only knows the commit index once an entry of its own term is committed.
        guard log.term(log.committed) == term else {
            readsAwaitingCommit.append(PendingRead(context: context, index: 0, from: from, acks: []))
            return
        }
        let read = PendingRead(context: context, index: log.committed, from: from, acks: [id])
        if voters.count == 1 && voters.contains(id) {
            releaseRead(read)
            return
        }
        pendingReads.append(read)
        bcastHeartbeat(context: context)
    }

    /// Leader: a heartbeat response echoing `context` confirms leadership for that read and all before it.
    func confirmRead(context: [UInt8], from node: UInt64) {
        guard let i = pendingReads.firstIndex(where: { $0.context == context }) else { return }
        pendingReads[i].acks.insert(node)
        let acks = pendingReads[i].acks.filter { voters.contains($0) }.count
        guard acks >= quorum else { return }
        let released = pendingReads[...i]
        pendingReads.removeFirst(i + 1)
        for r in released { releaseRead(r) }
    }

    func releaseRead(_ r: PendingRead) {
        if r.from == id {
            readStates.append(ReadState(index: r.index, context: r.context))
        } else {
            send(Message(kind: .readIndexResponse, from: id, to: r.from, term: term, index: r.index, context: r.context))
        }
    }

    /// Leader: once an entry of this term commits, serve the reads that waited for it.
    func serveReadsAwaitingCommit() {
        guard !readsAwaitingCommit.isEmpty, log.term(log.committed) == term else { return }
        let waiting = readsAwaitingCommit
        readsAwaitingCommit = []
        for r in waiting { handleReadIndex(context: r.context, from: r.from) }
    }
}
