import Foundation
import NetworkIO
import RaftCore
import SpoolStore

/// Graceful stop, membership changes and the status view. Loop thread only unless noted.
extension RaftLog {
    func beginStop(transfer: Bool, done: @escaping () -> Void) {
        stopping = true
        for p in pending { finish(p.origin, .failure(StoreError(.closed, "cluster log stopping", context: "propose"))) }
        pending = []
        stopCompletion = done
        let voters = raft.confState.voters.filter { $0 != raft.id }
        if transfer && raft.role == .leader && !voters.isEmpty {
            let st = raft.status()
            let best = st.peers.filter { !$0.isLearner && voters.contains($0.id) }.max { $0.match < $1.match }
            if let target = best?.id, (try? raft.transferLeader(to: target)) != nil {
                log("info", "transferring leadership", ["to": ids.name(target)])
                stopDeadline = EventLoop.now() + UInt64(Double(2 * options.electionTicks) * options.tickInterval * 1e9)
                process()
                return
            }
        }
        finishStop()
    }

    func checkStop() {
        guard stopCompletion != nil else { return }
        if raft.role != .leader || EventLoop.now() >= stopDeadline { finishStop() }
    }

    private func finishStop() {
        guard let done = stopCompletion else { return }
        stopCompletion = nil
        process()  // send what the last Ready holds (e.g. timeoutNow)
        let closed = StoreError(.closed, "cluster log stopped", context: "propose")
        for (_, ws) in waiters { for w in ws { finish(w.origin, .failure(closed)) } }
        waiters = [:]
        for (_, p) in forwarded { finish(p.origin, .failure(closed)) }
        forwarded = [:]
        for peer in outgoingSnapshots.keys { finishOutgoing(peer) }  // removes the copies off the loop
        transport.stop()
        shared.withLock { $0.status?.role = "stopped" }
        log("info", "raft stopped", ["term": "\(raft.term)", "applied": "\(spoolApplied)"])
        done()
    }

    /// Rebuilds the cross-thread status view.
    func refreshStatus() {
        guard stopCompletion != nil || !stopping else { return }
        refreshEffectiveFormat()
        let st = raft.status()
        let now = EventLoop.now()
        let infos = transport.peerInfo()
        var peers: [Status.Peer] = []
        var recent = 1
        for info in infos {
            let rid = ids.ids[info.id] ?? 0
            let prog = st.peers.first { $0.id == rid }
            let age = info.lastContact.map { (now &- $0) / 1_000_000 }
            if let c = info.lastContact, now &- c < 2 * electionNanos, raft.confState.voters.contains(rid) { recent += 1 }
            peers.append(Status.Peer(id: info.id, address: info.address, match: prog?.match ?? 0,
                                     lag: prog.map { st.lastIndex > $0.match ? st.lastIndex - $0.match : 0 } ?? 0,
                                     lastContactMillis: age, connected: info.connected,
                                     isLearner: st.confState.learners.contains(rid), needsSnapshot: needsSnapshot.contains(rid),
                                     lastError: info.lastError))
        }
        let quorum: Bool
        switch raft.role {
        case .leader:
            quorum = recent * 2 > st.confState.voters.count
        default:
            let leaderContact = raft.leader == 0 ? nil : transport.lastContact[ids.name(raft.leader)]
            quorum = leaderContact.map { now &- $0 < 2 * electionNanos } ?? false
        }
        let role: String
        switch st.softState.role {
        case .leader: role = "leader"
        case .follower: role = "follower"
        case .candidate: role = "candidate"
        case .preCandidate: role = "preCandidate"
        }
        var status = Status(id: options.nodeID, role: role, leader: raft.leader == 0 ? nil : ids.name(raft.leader),
                            term: raft.term, commit: raft.commitIndex, applied: spoolApplied,
                            lastIndex: raft.lastIndex, firstIndex: raft.firstIndex, hasQuorum: quorum,
                            voters: st.confState.voters.map(ids.name), learners: st.confState.learners.map(ids.name),
                            peers: peers, snapshotPending: snapshotPending, pendingProposals: pending.count + waiters.count + forwarded.count,
                            live: now &- liveReceived < 2 * electionNanos ? liveMembers : [])
        status.malformedMessages = malformedMessages + raft.malformedDropped
        status.catchingUp = raft.isCatchingUp
        status.entryFormat = Int(effectiveFormat)
        status.retainedBodyEntries = storage.retainedCount
        let liveChanged = shared.withLock { shared -> Bool in
            let changed = shared.status.map { $0.live != status.live } ?? !status.live.isEmpty
            shared.status = status
            return changed
        }
        // Destinations move between members with the live set: the new owner's scheduler looks
        // now instead of at its idle poll.
        if liveChanged { newWork.withLock { $0 }?() }
    }
}
