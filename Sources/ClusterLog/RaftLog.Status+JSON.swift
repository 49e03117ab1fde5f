extension RaftLog.Status {
    /// The status as a JSON-compatible dictionary (for `GET /v1/cluster` and `sendarix cluster
    /// status`): `id, role, leader, term, commit, applied, lastIndex, firstIndex, hasQuorum, voters,
    /// learners, live, pendingProposals, catchingUp, entryFormat, peers[{id, address, match, lag, lastContactMs, connected,
    /// learner, needsSnapshot, lastError}]`. Absent values are `NSNull`-free: omitted keys. Pure; any thread.
    public func jsonObject() -> [String: Any] {
        var out: [String: Any] = [
            "id": id, "role": role, "term": term, "commit": commit, "applied": applied, "lastIndex": lastIndex,
            "firstIndex": firstIndex, "hasQuorum": hasQuorum, "voters": voters, "learners": learners, "live": live,
            "pendingProposals": pendingProposals, "snapshotPending": snapshotPending,
            "malformedMessages": malformedMessages, "catchingUp": catchingUp,
            "entryFormat": entryFormat, "retainedBodyEntries": retainedBodyEntries,
        ]
        if let leader { out["leader"] = leader }
        out["peers"] = peers.map { p -> [String: Any] in
            var o: [String: Any] = ["id": p.id, "address": p.address, "match": p.match, "lag": p.lag,
                                    "connected": p.connected, "learner": p.isLearner, "needsSnapshot": p.needsSnapshot]
            if let c = p.lastContactMillis { o["lastContactMs"] = c }
            if let e = p.lastError { o["lastError"] = e }
            return o
        }
        return out
    }
}
