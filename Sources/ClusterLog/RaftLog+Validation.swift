import RaftCore

/// Checks on raft frames from authenticated peers: a buggy or hostile peer must not be able to
/// make this node trap, so a message is decoded, checked against `Raft.Message.malformation` and
/// its addressing before it reaches `Raft.step` (which checks again, and against its log).
extension RaftLog {
    /// The message in a `.raft` frame payload from a peer whose raft id is `peerID` (nil when unknown)
    /// for node `me`, or why it must be dropped (code `.network`). Pure; any thread.
    static func checkRaftFrame(_ payload: [UInt8], peerID: UInt64?, me: UInt64) -> Result<Raft.Message, ClusterError> {
        let m: Raft.Message
        do {
            m = try Raft.Message.decode(payload)
        } catch {
            return .failure(ClusterError(.network, "undecodable raft message: \(error.reason)"))
        }
        if m.to != me { return .failure(ClusterError(.network, "raft message for node \(m.to), not this node")) }
        if peerID != m.from {
            return .failure(ClusterError(.network, "raft message claims sender \(m.from), the connection is from another node"))
        }
        if let why = m.malformation { return .failure(ClusterError(.network, "malformed \(m.kind) message: \(why)")) }
        return .success(m)
    }

    /// Loop thread: logs a message `Raft.step` dropped as inconsistent with this node's log.
    func logRaftDrop(from peer: String) {
        log("warn", "dropped a raft message", ["peer": peer, "reason": raft.lastMalformation ?? "",
                                                "dropped": "\(malformedMessages + raft.malformedDropped)"])
    }

    /// Loop thread: the message in a `.raft` frame from `peer`, or nil after logging and counting why
    /// it was dropped.
    func decodeRaftMessage(_ payload: [UInt8], from peer: String) -> Raft.Message? {
        switch Self.checkRaftFrame(payload, peerID: ids.ids[peer], me: raft.id) {
        case .success(let m):
            return m
        case .failure(let e):
            malformedMessages += 1
            log("warn", "dropped a raft message", ["peer": peer, "reason": e.reason, "dropped": "\(malformedMessages)"])
            return nil
        }
    }
}
