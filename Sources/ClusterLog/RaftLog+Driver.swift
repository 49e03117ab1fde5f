import Foundation
import NetworkIO
import RaftCore
import SpoolStore

/// The loop-side engine: proposals, ticks, `Ready` handling and applying. Loop thread only.
extension RaftLog {
    func startOnLoop() throws -> String {
        transport.onFrame = { [unowned self] peer, frame in self.received(frame, from: peer) }
        transport.onUnreachable = { [unowned self] peer in
            if let id = self.ids.ids[peer] { self.raft.reportUnreachable(id) }
        }
        let bound = try transport.start(listen: options.listen)
        let me = LoopBound(self, loop: loop)
        let sink = logSink
        let node = options.nodeID
        applier = SpoolApplier(store: store, metadataTag: Self.memberRecordTag,
                               bodiesInLog: options.bodiesInLog && store.options.durable, threadNice: options.commitNice,
                               onApplied: { batch in
            me.execute { $0.applied(batch) }
        }, onNewWork: { [weak self] in
            self?.newWork.withLock { $0 }?()
        }, onError: { error in
            sink("error", "applying committed entries failed; retrying", ["error": "\(error)", "node": node])
        })
        shared.withLock { $0.started = true }
        scheduleTick()
        scheduleProcess()
        log("info", "raft started", ["term": "\(raft.term)", "last": "\(raft.lastIndex)",
                                     "commit": "\(raft.commitIndex)", "peer": "\(bound)"])
        return bound.description
    }

    func enqueue(_ p: Proposal) {
        if stopping {
            finish(p.origin, .failure(StoreError(.closed, "cluster log stopping", context: "propose")))
            return
        }
        if stalledReady != nil {
            finish(p.origin, .failure(StoreError(.storageFull, "raft log cannot be written (see the node's log); "
                                                 + "try another node or later", context: "propose")))
            return
        }
        pending.append(p)
        scheduleProcess()
    }

    /// Coalesces work to once per loop turn (after every queued task and event ran).
    func scheduleProcess() {
        guard !processScheduled else { return }
        processScheduled = true
        let me = LoopBound(self, loop: loop)
        loop.execute { me.value.process() }
    }

    func process() {
        processScheduled = false
        guard stalledReady == nil else { return }
        flushProposals()
        var rounds = 0
        while raft.hasReady && rounds < 64 && stalledReady == nil {
            handleReady(raft.ready())
            rounds += 1
        }
        if stalledReady != nil { return }
        if raft.hasReady { scheduleProcess() }
        refreshStatus()
    }

    private func scheduleTick() {
        _ = loop.schedule(after: options.tickInterval) { [weak self] in
            guard let self, !self.stopping || self.stopCompletion != nil else { return }
            self.tick()
            self.scheduleTick()
        }
    }

    private func tick() {
        ticks += 1
        raft.tick()
        expire(now: EventLoop.now())
        if raft.role == .leader && ticks % 10 == 0 {
            advertiseLeaderView()
            promoteCaughtUpLearners()
        }
        if ticks % 10 == 5 { considerPreferredLeader() }
        maybeCompact()
        pumpSnapshots()
        checkStop()
        process()
    }

    /// Proposes (leader) or forwards (follower) everything pending.
    private func flushProposals() {
        guard !pending.isEmpty, !stopping else { return }
        if raft.role == .leader && raft.leadTransferee == 0 {
            let now = Self.nowMillis()
            pending.removeAll { p in
                guard let err = Self.validateClaim(p.data, nowMillis: now) else { return false }
                finish(p.origin, .failure(err))
                return true
            }
            downgradePending()
            var start = 0
            while start < pending.count {
                let end = min(pending.count, start + options.maxBatchCount)
                let chunk = pending[start..<end]
                do {
                    let (first, term) = try raft.propose(batch: chunk.map(\.data))
                    for (i, p) in chunk.enumerated() {
                        let index = first + UInt64(i)
                        if case .remote(let peer, let request) = p.origin {
                            // The forwarding node waits for the entry itself (committed AND applied there,
                            // or applied here when it is behind: RaftLog+AppliedResults).
                            sendAppended(to: peer, request: request, index: index, term: term)
                            if Self.answeredFromLeader(p.data) {
                                appliedNotices[index] = AppliedNotice(peer: peer, request: request, term: term)
                            }
                        } else {
                            waiters[index, default: []].append(Waiter(term: term, origin: p.origin, deadline: p.deadline))
                        }
                    }
                } catch {
                    // Lost leadership in between: keep them pending for the next leader.
                    pending.removeFirst(start)
                    return
                }
                start = end
            }
            pending.removeAll(keepingCapacity: true)
            return
        }
        let leader = raft.leader
        guard leader != 0, leader != raft.id, raft.leadTransferee == 0 else { return }  // wait for a leader (deadline)
        let peer = ids.name(leader)
        for p in pending {
            if case .remote(let from, let request) = p.origin {
                // Not the leader (any more): tell the origin to retry on the leader it knows.
                sendResult(to: from, request: request, .failure(notLeader()))
                continue
            }
            let request = RequestID(incarnation: incarnation, seq: nextRequest)
            nextRequest += 1
            var payload = [UInt8]()
            payload.reserveCapacity(16 + p.data.count)
            payload.appendUInt64(request.incarnation)
            payload.appendUInt64(request.seq)
            payload.append(contentsOf: p.data)
            let lane: PeerTransport.Lane = p.data.count > options.bulkThreshold ? .bulk : .control
            forwarded[request] = p
            let sent = transport.send(PeerFrame(.forward, payload), to: peer, lane: lane) { [unowned self] in
                // Never written to the leader: safe to forward again once a leader is reachable.
                guard let p = self.forwarded.removeValue(forKey: request) else { return }
                self.pending.append(p)
                self.scheduleRetry()
            }
            if !sent {
                forwarded[request] = nil
                finish(p.origin, .failure(unavailable("leader \(peer) unreachable")))
            }
        }
        pending.removeAll(keepingCapacity: true)
    }

    private func handleReady(_ rd: Raft.Ready) {
        if let ss = rd.softState { roleChanged(ss) }
        if rd.snapshot != nil {
            log("error", "unexpected raft snapshot in Ready ignored (snapshots are installed on restart)", [:])
        }
        // A leader whose term and vote are already durable may replicate before its own fsync: it
        // counts its own copy only for acks it handles on a later turn of this loop, after the
        // write below finished. Not when it is the only voter: RaftCore then commits its entries
        // as it appends them, and the commit index in these messages would let learners apply
        // entries that are not yet on the leader's disk (its match index must be what is durable).
        // Everything else (votes, follower acks) waits for the write.
        let early = raft.role == .leader && !soleVoter
            && (rd.hardState.map { $0.term == storage.hard.term && $0.vote == storage.hard.vote } ?? true)
        if early {
            for m in rd.messages where m.kind == .appendEntries || m.kind == .heartbeat { sendMessage(m) }
        }
        finishReady(rd, sentEarly: early)
    }

    /// Writes `rd` to raft storage, then sends what waited for the write, applies and advances.
    /// When the write fails nothing that depends on it happens (no acknowledgement, no vote): the
    /// Ready is kept and retried every second, and the node answers proposals with `.storageFull`
    /// meanwhile. It never crashes on a full disk; the rest of the cluster goes on without it.
    private func finishReady(_ rd: Raft.Ready, sentEarly early: Bool) {
        do {
            try storage.persist(entries: rd.entries, hardState: rd.hardState)
        } catch {
            if stalledReady == nil {
                log("error", "raft storage write failed; this node holds back until it can write", ["error": "\(error)"])
            }
            stalledReady = rd
            let me = LoopBound(self, loop: loop)
            _ = loop.schedule(after: 1.0) {
                guard let rd = me.value.stalledReady, !me.value.stopping else { return }
                me.value.finishReady(rd, sentEarly: early)
            }
            return
        }
        if stalledReady != nil {
            stalledReady = nil
            log("info", "raft storage writable again", [:])
        }
        for m in rd.messages where !(early && (m.kind == .appendEntries || m.kind == .heartbeat)) { sendMessage(m) }
        noteCatchUp()
        commit(rd.committedEntries)
        noteReadStates(rd.readStates)
        raft.advance(rd)
        scheduleProcess()
    }

    /// Whether a quorum of voters is this node alone (its own append commits at once).
    var soleVoter: Bool {
        raft.voters.count == 1 && raft.voters.contains(raft.id)
    }

    private func roleChanged(_ ss: Raft.SoftState) {
        let leader = ss.leader == 0 ? "none" : ids.name(ss.leader)
        log("info", "raft role", ["role": "\(ss.role)", "leader": leader, "term": "\(raft.term)"])
        if lastRole == .leader && ss.role != .leader {
            // Forwarded and local proposals already in the log may still commit under the new
            // leader; those not yet proposed go to it.
            scheduleProcess()
        }
        if ss.role == .leader && lastRole != .leader { leaderSince = EventLoop.now() }
        lastRole = ss.role
        if lastLeader != 0 && lastLeader != ss.leader && lastLeader != raft.id {
            transport.dropUnsent(to: ids.name(lastLeader))  // forwards stuck behind a dead leader's dial
        }
        if ss.leader != lastLeader, ss.leader != 0 { RaftLog.leaderChanges.add(1, ordering: .relaxed) }
        lastLeader = ss.leader
    }

    private func sendMessage(_ m: Raft.Message) {
        let peer = ids.name(m.to)
        if m.kind == .installSnapshot {
            if needsSnapshot.insert(m.to).inserted {
                log("info", "peer is behind the compacted log; streaming a spool snapshot", ["peer": peer])
            }
            startSnapshotStream(to: peer)
            return
        }
        sendObserver?(m, storage.lastIndex)
        var bytes = 0
        for e in m.entries { bytes += e.data.count }
        let lane: PeerTransport.Lane = bytes > options.bulkThreshold ? .bulk : .control
        if !transport.send(PeerFrame(.raft, m.encode()), to: peer, lane: lane) {
            raft.reportUnreachable(m.to)
        }
    }

    /// Hands committed entries to the applier; membership entries take effect here at once (they
    /// do not touch the spool).
    func commit(_ entries: [Raft.Entry]) {
        for e in entries {
            if e.kind == .confChange { applyConfChange(e) }
            if e.kind == .normal, e.data.first == Self.memberRecordTag { applyMemberRecord(e.data) }
        }
        applier.enqueue(entries)
    }

    /// The applier finished a batch: record results and complete waiters. Loop thread.
    func applied(_ batch: [SpoolApplier.Applied]) {
        for a in batch {
            remember(a.index, term: a.term, a.result)
            noticeApplied(a)
            for w in waiters.removeValue(forKey: a.index) ?? [] { resolve(w, index: a.index, term: a.term, a.result) }
        }
        if let last = batch.last {
            spoolApplied = max(spoolApplied, last.index)
            storage.releaseCache(through: last.index)
        }
        refreshStatus()
    }

    /// Fails proposals whose deadline passed (pending, forwarded, or appended but not committed).
    private func expire(now: UInt64) {
        if pending.contains(where: { $0.deadline <= now }) {
            var keep: [Proposal] = []
            for p in pending {
                if p.deadline <= now { finish(p.origin, .failure(timeout())) } else { keep.append(p) }
            }
            pending = keep
        }
        for (k, p) in forwarded where p.deadline <= now {
            forwarded[k] = nil
            finish(p.origin, .failure(timeout()))
        }
        for (k, ws) in waiters where ws.contains(where: { $0.deadline <= now }) {
            for w in ws where w.deadline <= now { finish(w.origin, .failure(timeout())) }
            let keep = ws.filter { $0.deadline > now }
            waiters[k] = keep.isEmpty ? nil : keep
        }
    }

    /// Completes a waiter for the entry applied at `index` with `term`.
    func resolve(_ w: Waiter, index: UInt64, term: UInt64, _ result: Result<Void, StoreError>) {
        if w.term != term {
            finish(w.origin, .failure(unavailable("leadership changed before the entry committed")))
        } else {
            finish(w.origin, result.map { index })
        }
    }

    /// Keeps the last 65,536 apply results.
    private func remember(_ index: UInt64, term: UInt64, _ result: Result<Void, StoreError>) {
        recentResults[index] = (term, result)
        recentOrder.append(index)
        if recentOrder.count - recentStart > 65_536 {
            recentResults[recentOrder[recentStart]] = nil
            recentStart += 1
            if recentStart > 65_536 {
                recentOrder.removeFirst(recentStart)
                recentStart = 0
            }
        }
    }

    /// Retries pending proposals on the next tick (not at once: the leader may be unreachable).
    func scheduleRetry() {
        let me = LoopBound(self, loop: loop)
        _ = loop.schedule(after: options.tickInterval) { me.value.scheduleProcess() }
    }

    func finish(_ origin: Origin, _ result: Result<UInt64, StoreError>) {
        switch origin {
        case .local(let completion): completion(result)
        case .remote(let peer, let request): sendResult(to: peer, request: request, result)
        }
    }

    func unavailable(_ why: String) -> StoreError {
        StoreError(.unavailable, "cluster unavailable: \(why)", context: "raft")
    }

    func timeout() -> StoreError {
        unavailable("not committed within \(options.proposalTimeout) s (no quorum?)")
    }

    func notLeader() -> StoreError {
        StoreError(.unavailable, "cluster unavailable: not the leader", context: "raft-not-leader")
    }

    func log(_ level: String, _ event: String, _ fields: [String: String]) {
        var f = fields
        f["node"] = options.nodeID
        logSink(level, event, f)
    }
}

extension Array where Element == UInt8 {
    mutating func appendUInt64(_ v: UInt64) {
        Swift.withUnsafeBytes(of: v.bigEndian) { append(contentsOf: $0) }
    }

    func readUInt64(at i: Int) -> UInt64? {
        guard i >= 0, count >= i + 8 else { return nil }
        var v: UInt64 = 0
        for k in 0..<8 { v = v << 8 | UInt64(self[i + k]) }
        return v
    }
}
