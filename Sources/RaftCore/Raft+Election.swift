extension Raft {
    func tickElection() {
        electionElapsed += 1
        if isPromotable && electionElapsed >= randomizedElectionTimeout {
            electionElapsed = 0
            hup(transfer: false)
        }
    }

    func tickHeartbeat() {
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= config.electionTick {
            electionElapsed = 0
            if config.checkQuorum && !checkQuorumActive() {
                becomeFollower(term: term, leader: 0)
                return
            }
            if leadTransferee != 0 { leadTransferee = 0 }
        }
        guard role == .leader else { return }
        for (node, var pr) in progress where pr.state == .snapshot {
            pr.snapshotTicks += 1
            if pr.snapshotTicks >= config.snapshotTimeoutTicks { pr.becomeProbe() }
            progress[node] = pr
        }
        if heartbeatElapsed >= config.heartbeatTick {
            heartbeatElapsed = 0
            bcastHeartbeat()
        }
    }

    /// True if a quorum of voters was heard from since the last check; resets the marks.
    func checkQuorumActive() -> Bool {
        var active = 0
        for node in progress.keys {
            if node == id {
                if voters.contains(id) { active += 1 }
                continue
            }
            if progress[node]!.recentActive && !progress[node]!.isLearner { active += 1 }
            progress[node]!.recentActive = false
        }
        return active >= quorum
    }

    /// Starts an election (pre-vote first when configured, unless caused by a transfer).
    func hup(transfer: Bool) {
        guard role != .leader, isPromotable else { return }
        if hasUnappliedConfChanges() { return }
        if isCatchingUp && log.lastIndex > 0 { return }  // see Raft+CatchUp
        if config.preVote && !transfer {
            campaign(pre: true, transfer: false)
        } else {
            campaign(pre: false, transfer: transfer)
        }
    }

    func hasUnappliedConfChanges() -> Bool {
        guard log.applied < log.committed else { return false }
        var lo = log.applied + 1
        let hi = log.committed + 1
        while lo < hi {
            guard let ents = log.slice(lo, hi, maxBytes: 1 << 20), let last = ents.last else { return false }
            if ents.contains(where: { $0.kind == .confChange }) { return true }
            lo = last.index + 1
        }
        return false
    }

    func campaign(pre: Bool, transfer: Bool) {
        let voteTerm: UInt64
        let kind: Message.Kind
        if pre {
            becomePreCandidate()
            voteTerm = term + 1
            kind = .requestPreVote
        } else {
            becomeCandidate()
            voteTerm = term
            kind = .requestVote
        }
        if poll(id, granted: true) == .won {
            if pre { campaign(pre: false, transfer: false) } else { becomeLeader() }
            return
        }
        let li = log.lastIndex
        let lt = log.lastTerm
        for v in voters.sorted() where v != id {
            send(Message(kind: kind, from: id, to: v, term: voteTerm, logTerm: lt, index: li, isTransfer: transfer))
        }
    }

    enum VoteResult { case pending, won, lost }

    func poll(_ node: UInt64, granted: Bool) -> VoteResult {
        if votes[node] == nil { votes[node] = granted }
        var yes = 0
        var no = 0
        for (n, g) in votes where voters.contains(n) {
            if g { yes += 1 } else { no += 1 }
        }
        if yes >= quorum { return .won }
        if no >= quorum || yes + (voters.count - yes - no) < quorum { return .lost }
        return .pending
    }

    func stepCandidate(_ m: Message) {
        let myResponse: Message.Kind = role == .preCandidate ? .preVoteResponse : .voteResponse
        switch m.kind {
        case .appendEntries:
            becomeFollower(term: m.term, leader: m.from)
            handleAppendEntries(m)
        case .heartbeat:
            becomeFollower(term: m.term, leader: m.from)
            handleHeartbeat(m)
        case .installSnapshot:
            becomeFollower(term: m.term, leader: m.from)
            handleSnapshot(m)
        case myResponse:
            switch poll(m.from, granted: !m.reject) {
            case .won:
                if role == .preCandidate { campaign(pre: false, transfer: false) } else { becomeLeader() }
            case .lost:
                becomeFollower(term: term, leader: 0)
            case .pending:
                break
            }
        default:
            break
        }
    }

    func stepFollower(_ m: Message) {
        switch m.kind {
        case .appendEntries:
            electionElapsed = 0
            leader = m.from
            handleAppendEntries(m)
        case .heartbeat:
            electionElapsed = 0
            leader = m.from
            handleHeartbeat(m)
        case .installSnapshot:
            electionElapsed = 0
            leader = m.from
            handleSnapshot(m)
        case .timeoutNow:
            hup(transfer: true)
        case .readIndexResponse:
            readStates.append(ReadState(index: m.index, context: m.context))
        default:
            break
        }
    }

    /// Hands leadership to voter `to` (for graceful shutdown): the leader stops taking proposals,
    /// brings `to` up to date and tells it to campaign at once. Aborted after an election timeout.
    /// Throws `.notLeader` on a non-leader, `.invalidConfChange` if `to` is not a voter. Does not block.
    public func transferLeader(to target: UInt64) throws(Raft.Error) {
        guard role == .leader else {
            throw Raft.Error(.notLeader, "only the leader can transfer leadership", leaderHint: leader,
                             context: "transferLeader")
        }
        if target == id { return }
        guard voters.contains(target), progress[target] != nil else {
            throw Raft.Error(.invalidConfChange, "transfer target \(target) is not a voter")
        }
        if leadTransferee == target { return }
        electionElapsed = 0
        leadTransferee = target
        if progress[target]!.match == log.lastIndex {
            sendTimeoutNow(target)
        } else {
            sendAppend(to: target)
        }
    }

    func sendTimeoutNow(_ to: UInt64) {
        send(Message(kind: .timeoutNow, from: id, to: to, term: term))
    }
}
