import Foundation
import NetworkIO
import RaftCore

/// Adding and removing members at runtime (for the admin API), one change at a time.
///
/// `addNode` first commits a member record (id and peer address, a log entry that never reaches
/// the spool) so every node can reach the newcomer, then adds it as a learner; the leader promotes
/// a learner to voter once it has replicated everything committed. The new node is started with
/// `Options.peers` = the current members and `Options.initialVoters` = the current voters (without
/// itself), so it cannot campaign before it is promoted. It catches up from the log, which works
/// while the leader's log still holds everything after the newcomer's own state: on a compacted
/// log, seed the new node's data directory with a copy of a member's (spool and raft) first.
extension RaftLog {
    static let memberRecordTag: UInt8 = 0xC7

    /// Adds node `id` reachable at `address` (its `listen.peer`) as a learner, promoted to voter
    /// automatically once caught up. Completes (on the raft loop) when the learner is added, or
    /// with `.invalidConfig` (not the leader — see `status().leader` —, a change pending, or an
    /// invalid id). Never blocks; any thread.
    public func addNode(_ id: String, address: String,
                        completion: @escaping @Sendable (Result<Void, ClusterError>) -> Void) {
        let me = LoopBound(self, loop: loop)
        loop.execute { me.value.changeMembership(add: (id, address), remove: nil, completion) }
    }

    /// Removes node `id` (voter or learner). Completes when the change is applied here. Never blocks;
    /// any thread. Remove a node before decommissioning it; removing the leader makes it step down.
    public func removeNode(_ id: String, completion: @escaping @Sendable (Result<Void, ClusterError>) -> Void) {
        let me = LoopBound(self, loop: loop)
        loop.execute { me.value.changeMembership(add: nil, remove: id, completion) }
    }

    func changeMembership(add: (String, String)?, remove: String?,
                          _ completion: @escaping @Sendable (Result<Void, ClusterError>) -> Void) {
        guard !stopping else { return completion(.failure(ClusterError(.closed, "cluster log stopped"))) }
        guard raft.role == .leader else {
            let leader = raft.leader == 0 ? "unknown" : ids.name(raft.leader)
            return completion(.failure(ClusterError(.invalidConfig, "not the leader (leader: \(leader))")))
        }
        do {
            if let (name, address) = add {
                guard name.utf8.count <= 255, !name.isEmpty else { throw Raft.Error(.invalidConfChange, "bad node id") }
                if ids.ids[name] == nil { try? ids.insert(name) }
                guard let rid = ids.ids[name] else { throw Raft.Error(.invalidConfChange, "node id collides") }
                try raft.propose(Self.memberRecord(name, address))
                let (index, term) = try raft.proposeConfChange(Raft.ConfChange(.addLearner, nodeID: rid))
                confWaiters[index] = (term, completion)
            } else if let name = remove {
                guard let rid = ids.ids[name] else { throw Raft.Error(.invalidConfChange, "unknown node \(name)") }
                let (index, term) = try raft.proposeConfChange(Raft.ConfChange(.removeNode, nodeID: rid))
                confWaiters[index] = (term, completion)
            }
        } catch {
            completion(.failure(ClusterError(.invalidConfig, "\(error)", context: "membership")))
        }
        scheduleProcess()
    }

    static func memberRecord(_ name: String, _ address: String) -> [UInt8] {
        var w = WireWriter(capacity: 64)
        w.byte(memberRecordTag)
        w.lengthPrefixed(Array(name.utf8))
        w.lengthPrefixed(Array(address.utf8))
        return w.bytes
    }

    func applyMemberRecord(_ data: [UInt8]) {
        var r = WireReader(data.dropFirst())
        guard let n = try? r.lengthPrefixed(), let a = try? r.lengthPrefixed() else { return }
        let name = String(decoding: n, as: UTF8.self)
        let address = String(decoding: a, as: UTF8.self)
        guard name != options.nodeID else { return }
        if ids.ids[name] == nil { try? ids.insert(name) }
        transport.setPeer(name, address: address)
        do {
            try storage.setMember(name, address: address)
        } catch {
            log("error", "persisting member address failed", ["error": "\(error)"])
        }
    }

    func applyConfChange(_ e: Raft.Entry) {
        guard let cc = try? Raft.ConfChange.decode(e.data) else {
            return log("warn", "ignored an undecodable membership change", ["index": "\(e.index)"])
        }
        let cs = raft.applyConfChange(cc)
        do {
            try storage.setConfState(cs)
            if cc.kind == .removeNode, let name = ids.names[cc.nodeID], name != options.nodeID {
                transport.removePeer(name)
                if storage.members[name] != nil { try storage.setMember(name, address: nil) }
            }
        } catch {
            log("error", "persisting membership failed", ["error": "\(error)"])
        }
        log("info", "membership changed", ["voters": cs.voters.map(ids.name).joined(separator: ","),
                                           "learners": cs.learners.map(ids.name).joined(separator: ",")])
        if let (term, completion) = confWaiters.removeValue(forKey: e.index) {
            completion(term == e.term ? .success(()) : .failure(ClusterError(.invalidConfig, "leadership changed")))
        }
    }

    /// Leader: promotes one learner that has replicated everything committed.
    func promoteCaughtUpLearners() {
        guard raft.role == .leader, autoPromoteLearners else { return }
        for p in raft.status().peers where p.isLearner && p.match >= raft.commitIndex {
            if (try? raft.proposeConfChange(Raft.ConfChange(.promoteToVoter, nodeID: p.id))) != nil {
                log("info", "promoting learner", ["node": ids.name(p.id)])
            }
            return
        }
    }
}
