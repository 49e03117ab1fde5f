extension Raft {
    /// Leader: stamps and appends entries to its own log, then tries to commit.
    func appendEntries(_ es: [Entry]) {
        var li = log.lastIndex
        var stamped = es
        for i in stamped.indices {
            li += 1
            stamped[i].term = term
            stamped[i].index = li
        }
        log.append(stamped[...])
        _ = progress[id]?.maybeUpdate(log.lastIndex)
        _ = maybeCommit()
    }

    /// Leader: commits the highest index replicated on a quorum of voters, if it is of this term.
    func maybeCommit() -> Bool {
        guard !voters.isEmpty else { return false }
        var matches: [UInt64] = []
        matches.reserveCapacity(voters.count)
        for v in voters { matches.append(progress[v]?.match ?? 0) }
        matches.sort(by: >)
        let mci = matches[quorum - 1]
        guard log.maybeCommit(index: mci, term: term) else { return false }
        serveReadsAwaitingCommit()
        return true
    }

    func bcastAppend() {
        for node in progress.keys.sorted() where node != id { sendAppend(to: node) }
    }

    /// Heartbeats to every peer; `context` marks a read-index confirmation round.
    func bcastHeartbeat(context: [UInt8] = []) {
        for node in progress.keys.sorted() where node != id {
            let commit = Swift.min(progress[node]!.match, log.committed)
            send(Message(kind: .heartbeat, from: id, to: node, term: term, commit: commit, context: context))
        }
    }

    /// Sends an append (or a snapshot) to `to` if its flow control allows. Returns whether it sent.
    @discardableResult
    func sendAppend(to: UInt64, sendIfEmpty: Bool = true) -> Bool {
        guard var pr = progress[to], !pr.isPaused else { return false }
        defer { progress[to] = pr }
        let prevIndex = pr.next - 1
        let prevTerm = log.term(prevIndex)
        let ents = log.entries(from: pr.next, maxBytes: config.maxSizePerMsg)
        if let prevTerm, let ents {
            if ents.isEmpty && !sendIfEmpty { return false }
            if let last = ents.last {
                switch pr.state {
                case .replicate:
                    pr.next = last.index + 1
                    pr.addInflight(last.index)
                case .probe:
                    pr.probeSent = true
                case .snapshot:
                    preconditionFailure("append while sending a snapshot")
                }
            } else if pr.state == .probe {
                pr.probeSent = true
            }
            send(Message(kind: .appendEntries, from: id, to: to, term: term, logTerm: prevTerm, index: prevIndex,
                         entries: ents, commit: log.committed))
            return true
        }
        // The entries the follower needs are compacted: send the snapshot.
        guard pr.recentActive, let snap = log.snapshot(), !snap.isEmpty else { return false }
        pr.becomeSnapshot(snap.index)
        send(Message(kind: .installSnapshot, from: id, to: to, term: term, snapshot: snap))
        return true
    }

    func stepLeader(_ m: Message) {
        guard var pr = progress[m.from] else { return }
        switch m.kind {
        case .appendResponse:
            // A follower of this term acknowledges or rejects entries this leader sent: none is past
            // our last index, and a rejection's hint is not past the rejected index.
            if m.index > log.lastIndex {
                return dropMalformed(m, "index \(m.index) beyond the leader's last index \(log.lastIndex)")
            }
            if m.reject && m.rejectHint > m.index {
                return dropMalformed(m, "reject hint \(m.rejectHint) beyond the rejected index \(m.index)")
            }
            pr.recentActive = true
            if m.reject {
                var nextProbe = m.rejectHint
                if m.logTerm > 0 {
                    nextProbe = log.findConflictByTerm(index: m.rejectHint, term: m.logTerm)
                }
                if m.index >= pr.match && m.rejectHint < pr.match {
                    // A rejection of an append sent after the last acknowledgement (at or past the
                    // match) whose hint is below the match: the follower lacks entries it
                    // acknowledged, so it was restored from a backup or lost its disk (a reordered
                    // duplicate can look the same). Forget its match and probe from its hint;
                    // lowering a match is always safe (it only delays commits).
                    pr.match = 0
                    pr.becomeProbe()
                    pr.next = nextProbe + 1
                    progress[m.from] = pr
                    sendAppend(to: m.from)
                    return
                }
                if pr.maybeDecrTo(rejected: m.index, matchHint: nextProbe) {
                    if pr.state == .replicate { pr.becomeProbe() }
                    progress[m.from] = pr
                    sendAppend(to: m.from)
                } else {
                    progress[m.from] = pr
                }
                return
            }
            let oldPaused = pr.isPaused
            if pr.maybeUpdate(m.index) {
                switch pr.state {
                case .probe:
                    pr.becomeReplicate()
                case .snapshot where pr.match >= pr.pendingSnapshot || pr.match + 1 >= log.firstIndex:
                    // Installed, or the follower can now be served from the log.
                    pr.becomeProbe()
                    pr.becomeReplicate()
                case .replicate:
                    pr.freeInflights(upTo: m.index)
                default:
                    break
                }
                progress[m.from] = pr
                if maybeCommit() {
                    bcastAppend()
                } else if oldPaused {
                    sendAppend(to: m.from)
                }
                while sendAppend(to: m.from, sendIfEmpty: false) {}
                if m.from == leadTransferee && progress[m.from]!.match == log.lastIndex {
                    sendTimeoutNow(m.from)
                }
            } else {
                progress[m.from] = pr
            }
        case .readIndex:
            handleReadIndex(context: m.context, from: m.from)
        case .heartbeatResponse:
            if !m.context.isEmpty { confirmRead(context: m.context, from: m.from) }
            pr.recentActive = true
            pr.probeSent = false
            if pr.state == .replicate && pr.inflightsFull { pr.freeFirstInflight() }
            progress[m.from] = pr
            if pr.match < log.lastIndex { sendAppend(to: m.from) }
        default:
            progress[m.from] = pr
        }
    }

    func handleAppendEntries(_ m: Message) {
        if m.index < log.committed {
            send(Message(kind: .appendResponse, from: id, to: m.from, term: term, index: log.committed))
            return
        }
        if let lastNew = log.maybeAppend(index: m.index, logTerm: m.logTerm, commit: m.commit, entries: m.entries) {
            noteCaughtUp(m)
            send(Message(kind: .appendResponse, from: id, to: m.from, term: term, index: lastNew))
            return
        }
        // Reject with a hint: the last index whose term is <= the leader's term at m.index, so the
        // leader can skip a whole conflicting term per round trip.
        var hintIndex = Swift.min(m.index, log.lastIndex)
        hintIndex = log.findConflictByTerm(index: hintIndex, term: m.logTerm)
        let hintTerm = log.term(hintIndex) ?? 0
        send(Message(kind: .appendResponse, from: id, to: m.from, term: term, logTerm: hintTerm, index: m.index,
                     reject: true, rejectHint: hintIndex))
    }

    func handleHeartbeat(_ m: Message) {
        log.commitTo(Swift.min(m.commit, log.lastIndex))
        send(Message(kind: .heartbeatResponse, from: id, to: m.from, term: term, context: m.context))
        if m.commit > log.lastIndex {
            // The leader sends a commit up to the match it knows for us, so it believes we hold
            // entries we lack (restored from an older copy): reject, so that it probes again.
            let hint = log.lastIndex
            send(Message(kind: .appendResponse, from: id, to: m.from, term: term, logTerm: log.term(hint) ?? 0,
                         index: m.commit, reject: true, rejectHint: hint))
        }
    }

    func handleSnapshot(_ m: Message) {
        guard let s = m.snapshot else { return }
        if restore(s) {
            send(Message(kind: .appendResponse, from: id, to: m.from, term: term, index: log.lastIndex))
        } else {
            send(Message(kind: .appendResponse, from: id, to: m.from, term: term, index: log.committed))
        }
    }

    /// Follower: installs a snapshot if it is newer than what we have committed.
    func restore(_ s: Snapshot) -> Bool {
        if s.index <= log.committed { return false }
        if log.matchTerm(s.index, s.term) {
            // We already have the entries: just fast-forward the commit.
            log.commitTo(s.index)
            return false
        }
        log.restore(s)
        voters = Set(s.confState.voters)
        learners = Set(s.confState.learners)
        return true
    }

    /// Reports the outcome of sending a snapshot to `to` (the transport calls this when the
    /// stream finished or failed). On failure the leader probes again. Does not block.
    public func reportSnapshot(to: UInt64, success: Bool) {
        guard role == .leader, var pr = progress[to], pr.state == .snapshot else { return }
        if !success { pr.pendingSnapshot = 0 }
        pr.becomeProbe()
        pr.probeSent = true   // wait for the follower's response or the next heartbeat
        progress[to] = pr
    }

    /// Reports that `to` could not be reached; pipelined replication falls back to probing.
    /// Does not block.
    public func reportUnreachable(_ to: UInt64) {
        guard role == .leader, var pr = progress[to] else { return }
        if pr.state == .replicate { pr.becomeProbe() }
        progress[to] = pr
    }
}
