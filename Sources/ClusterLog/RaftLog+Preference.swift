import NetworkIO
import RaftCore

/// Leadership preference (`cluster.preferredLeaderRegion`, see `LeaderPreference`) and operator
/// leadership transfer (`POST /v1/cluster/leader`). Loop thread only unless noted.
extension RaftLog {
    /// Loop-confined state of the preference: when leadership was last handed on, and since when
    /// each member has been continuously healthy (seconds on the loop's monotonic clock).
    struct PreferenceState {
        var lastAttempt: Double?
        var healthySince: [String: Double] = [:]
    }

    /// Hands leadership to member `target` (operator command, e.g. to place the leader in a
    /// region). Completes with success once `target` leads (as seen here), or fails when this node
    /// is not the leader, `target` is not a voter, or the transfer did not finish within two
    /// election timeouts. Never blocks; any thread; the completion runs on the raft loop.
    public func transferLeadership(to target: String,
                                   completion: @escaping @Sendable (Result<Void, ClusterError>) -> Void) {
        let me = LoopBound(self, loop: loop)
        loop.execute { me.value.startTransfer(to: target, completion) }
    }

    private func startTransfer(to target: String, _ completion: @escaping @Sendable (Result<Void, ClusterError>) -> Void) {
        guard !stopping else { return completion(.failure(ClusterError(.closed, "cluster log stopped"))) }
        guard let rid = ids.ids[target] else {
            return completion(.failure(ClusterError(.invalidConfig, "no member \(target)")))
        }
        if raft.role == .leader && rid == raft.id { return completion(.success(())) }
        do {
            try raft.transferLeader(to: rid)
        } catch {
            return completion(.failure(ClusterError(.invalidConfig, "\(error)")))
        }
        log("info", "transferring leadership", ["to": target, "why": "operator"])
        process()
        let deadline = EventLoop.now() + UInt64(Double(2 * options.electionTicks) * options.tickInterval * 1e9)
        awaitLeader(rid, target: target, deadline: deadline, completion)
    }

    private func awaitLeader(_ rid: UInt64, target: String, deadline: UInt64,
                             _ completion: @escaping @Sendable (Result<Void, ClusterError>) -> Void) {
        if raft.leader == rid { return completion(.success(())) }
        if EventLoop.now() >= deadline || stopping {
            return completion(.failure(ClusterError(.network, "leadership did not move to \(target) in time")))
        }
        let me = LoopBound(self, loop: loop)
        _ = loop.schedule(after: options.tickInterval) {
            me.value.awaitLeader(rid, target: target, deadline: deadline, completion)
        }
    }

    /// Called every second from the tick: tracks member health and, on a leader outside the
    /// preferred region, hands leadership to a healthy caught-up member inside it.
    func considerPreferredLeader() {
        guard !options.preferredLeaders.isEmpty, !stopping else { return }
        let now = Double(EventLoop.now()) / 1e9
        let st = raft.status()
        let contacts = transport.peerInfo()
        var policy = LeaderPreference(preferred: options.preferredLeaders)
        policy.contactMillis = UInt64(2 * Double(options.electionTicks) * options.tickInterval * 1000)
        var members: [LeaderPreference.Member] = []
        for info in contacts {
            guard let rid = ids.ids[info.id] else { continue }
            let prog = st.peers.first { $0.id == rid }
            let age = info.lastContact.map { (EventLoop.now() &- $0) / 1_000_000 }
            var m = LeaderPreference.Member(id: info.id, isVoter: st.confState.voters.contains(rid),
                                            connected: info.connected, lastContactMillis: age,
                                            lag: prog.map { st.lastIndex > $0.match ? st.lastIndex - $0.match : 0 } ?? UInt64.max)
            if policy.isHealthy(m) {
                if preferenceState.healthySince[info.id] == nil { preferenceState.healthySince[info.id] = now }
            } else {
                preferenceState.healthySince[info.id] = nil
            }
            m.healthySince = preferenceState.healthySince[info.id]
            members.append(m)
        }
        let leading = raft.role == .leader ? Double(leaderSince) / 1e9 : nil
        guard case .transfer(let target) = policy.decide(selfID: options.nodeID, leaderSince: leading,
                                                        lastAttempt: preferenceState.lastAttempt, now: now,
                                                        members: members),
              let rid = ids.ids[target] else { return }
        preferenceState.lastAttempt = now
        if (try? raft.transferLeader(to: rid)) != nil {
            log("info", "transferring leadership", ["to": target, "why": "preferred leader region"])
            process()
        }
    }
}
