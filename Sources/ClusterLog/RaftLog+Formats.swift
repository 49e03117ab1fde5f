import RaftCore
import SpoolStore

/// Which log entry format this node writes during a rolling upgrade (see `SpoolCommand+Formats`):
/// the lowest `SpoolCommand.formatVersion` among the members, each peer's learned from the hellos
/// of its connections to this node (a member not heard from counts as version 1). Proposals are
/// encoded with it; a leader re-encodes a pending proposal written for a newer version (a
/// follower that learned of an old member later than the leader). Loop thread.
extension RaftLog {
    /// Recomputes `effectiveFormat` from the membership and the peers' hellos.
    func refreshEffectiveFormat() {
        var f = SpoolCommand.formatVersion
        let st = raft.confState
        for id in st.voters + st.learners where id != raft.id {
            f = min(f, transport.peerFormats[ids.name(id)] ?? 1)
        }
        guard f != effectiveFormat || shared.withLock({ $0.format }) != f else { return }
        if f != effectiveFormat {
            log("info", "log entry format", ["version": "\(f)", "build": "\(SpoolCommand.formatVersion)"])
        }
        effectiveFormat = f
        shared.withLock { $0.format = f }
    }

    /// Leader, before proposing: re-encodes pending proposals newer than `effectiveFormat`.
    func downgradePending() {
        let f = effectiveFormat
        guard f < SpoolCommand.formatVersion else { return }
        for i in pending.indices where (pending[i].data.first ?? 0) > f {
            if let d = SpoolCommand.downgraded(pending[i].data, to: f) { pending[i].data = d }
        }
    }
}
