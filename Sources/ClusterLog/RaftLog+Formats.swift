import RaftCore
import SpoolStore

/// Which log entry format this node writes during a rolling upgrade (see `SpoolCommand+Formats`):
/// the lowest `SpoolCommand.formatVersion` among the members. The leader learns each member's from
/// the hellos of the connections the member opens to it (every follower and learner dials its
/// leader; a member not heard from since this node started counts as the format saved for it,
/// from its last hello or the last leader's announcement, across restarts
/// (`RaftLog+RememberedFormats`); one never heard of, or a build that sends no version, counts as
/// 1) and announces
/// the result in its `.leaderView` every second; a follower writes the lower of its own version
/// and the last one announced (1 until then, or from a leader that announces none). Proposals are
/// encoded with it; a leader also re-encodes a pending proposal written for a newer version (a
/// follower that had not heard of an old member yet). Loop thread.
extension RaftLog {
    /// See `ReplicatedLog.entryFormat`: the format proposals are encoded in now. Any thread.
    public var entryFormat: UInt8 { shared.withLock { $0.format } }

    /// Recomputes `effectiveFormat`.
    func refreshEffectiveFormat() {
        rememberPeerFormats()
        var f = SpoolCommand.formatVersion
        let st = raft.confState
        let others = (st.voters + st.learners).filter { $0 != raft.id }
        if raft.role == .leader || others.isEmpty {
            for id in others { f = min(f, memberFormat(ids.name(id))) }
        } else {
            f = min(f, leaderFormat)
        }
        guard f != effectiveFormat || shared.withLock({ $0.format }) != f else { return }
        if f != effectiveFormat {
            log("info", "log entry format", ["version": "\(f)", "build": "\(SpoolCommand.formatVersion)"])
        }
        effectiveFormat = f
        shared.withLock { $0.format = f }
    }

    /// Leader, before proposing: re-encodes pending proposals newer than `effectiveFormat`, and
    /// refuses those that format cannot hold (`SpoolCommand.formatProblem(format:)`: a webhook batch
    /// lease or result would commit as a no-op and be lost; its proposer keeps it for later).
    func downgradePending() {
        let f = effectiveFormat
        guard f < SpoolCommand.formatVersion else { return }
        var refused: [Int] = []
        for i in pending.indices where (pending[i].data.first ?? 0) > f {
            if (pending[i].data.first ?? 0) >= 5, let c = try? SpoolCommand(decoding: pending[i].data),
               let problem = c.formatProblem(format: f) {
                refused.append(i)
                finish(pending[i].origin, .failure(problem))
                continue
            }
            if let d = SpoolCommand.downgraded(pending[i].data, to: f) { pending[i].data = d }
        }
        for i in refused.reversed() { pending.remove(at: i) }
    }

    /// The format byte after the names of a `.leaderView` payload (after its index), 1 if absent.
    static func viewFormat(_ p: ArraySlice<UInt8>) -> UInt8 {
        guard let count = p.first else { return 1 }
        var i = p.startIndex + 1
        for _ in 0..<count {
            guard i < p.endIndex else { return 1 }
            i += 1 + Int(p[i])
        }
        return i < p.endIndex ? max(1, p[i]) : 1
    }
}
