import Foundation
import NetworkIO
import SpoolStore

/// Apply results from the leader for forwarded proposals.
///
/// A follower answers a forwarded proposal once the entry is applied. Its own applier may be far
/// behind (a member that came back through a snapshot applies nothing until the install ends),
/// so the leader that appended the entry at (index, term) also sends the result of applying it
/// there; the follower completes its waiter with it when its own apply has not answered within
/// `leaderResultGrace` (1 s). The grace keeps the usual order on a member that applies in time:
/// what it answered 250 to is in its own spool (delivery, woken by the answer, finds it there).
/// Applying a committed
/// entry is deterministic across members, so only results that follow from the entry and the
/// replicated state are sent: success and the state machine's rejections. A storage failure on
/// the leader (`.storageFull`, I/O) says nothing about this member: such results are not sent and
/// the follower keeps waiting for its own apply. Only a waiter that appended at exactly that
/// (index, term) is completed: an entry replaced under a later leader never matches.
///
/// Wire: a `.forwardResult` with result tag 2: `[incarnation u64][seq u64][2][0xFF 0xFF]
/// [index u64][term u64][0 | 1 + code, reason, context as in the failure payload]`. Builds without
/// it read tag 2 as a failure whose first string is 65,535 bytes long, longer than any such
/// payload, so they would drop the frame as malformed (and keep waiting for their own apply); the
/// leader sends it only to members whose hello advertised format 5 or later. Loop thread.
extension RaftLog {
    /// The leader's record of a forwarded proposal it appended: whom to tell when it is applied.
    struct AppliedNotice {
        var peer: String
        var request: RequestID
        var term: UInt64
    }

    /// The `.forwardResult` result tag of an applied result.
    static let appliedTag: UInt8 = 2

    /// Whether a forwarded proposal may be answered with the leader's apply result: only a new
    /// message (an enqueue, tag 1 after the version byte), whose proposer needs nothing but
    /// durability (the SMTP 250). Every other command's proposer reads its own spool next (a
    /// delivery claim or outcome, a webhook lease): answered before its own apply, it would work
    /// from state that lacks its own change (a claim taken again over recipients already
    /// delivered), so those wait for this member's apply as before. Pure.
    static func answeredFromLeader(_ data: [UInt8]) -> Bool { data.count > 1 && data[1] == 1 }

    /// The lowest log entry format whose builds read applied results (they came in the release of
    /// format 5): a forwarder that advertised less in its hello (an older build during a rolling
    /// upgrade) is not sent them, so it neither logs a malformed frame per message nor misses
    /// anything (it answers from its own apply, as before).
    static let appliedResultsFormat: UInt8 = 5

    /// For each entry applied here. Leader: sends the result to the node that forwarded it, when
    /// the entry applied is the one appended for it and the result is one every member reaches.
    /// Follower: forgets the leader's result for it (the waiters were answered by this apply).
    func noticeApplied(_ a: SpoolApplier.Applied) {
        leaderResults[a.index] = nil  // answered by this node's own apply
        guard let n = appliedNotices.removeValue(forKey: a.index), n.term == a.term,
              Self.sameOnEveryMember(a.result),
              (transport.peerFormats[n.peer] ?? 1) >= Self.appliedResultsFormat else { return }
        transport.send(PeerFrame(.forwardResult, Self.appliedPayload(n.request, index: a.index, term: a.term, a.result)),
                       to: n.peer, lane: .control)
    }

    /// Whether every member applying the same entry reaches `result`: success or a state-machine
    /// rejection, not a local storage failure. Pure.
    static func sameOnEveryMember(_ result: Result<Void, StoreError>) -> Bool {
        guard case .failure(let e) = result else { return true }
        switch e.code {
        case .duplicate, .leaseConflict, .staleAttempt, .notFound: return true
        case .invalidCommand: return !e.context.hasPrefix("raft ")  // undecodable here, maybe not elsewhere
        default: return false
        }
    }

    /// A `.forwardResult` payload with the result of applying the entry at (index, term). Pure.
    static func appliedPayload(_ request: RequestID, index: UInt64, term: UInt64,
                               _ result: Result<Void, StoreError>) -> [UInt8] {
        var p = [UInt8]()
        p.appendUInt64(request.incarnation)
        p.appendUInt64(request.seq)
        p.append(appliedTag)
        p.append(0xFF)
        p.append(0xFF)
        p.appendUInt64(index)
        p.appendUInt64(term)
        switch result {
        case .success:
            p.append(0)
        case .failure(let e):
            p.append(1)
            p.append(contentsOf: failurePayload(request, e).dropFirst(17))
        }
        return p
    }

    /// Decodes an applied-result payload: the request, (index, term) and the result; nil when
    /// malformed. Pure.
    static func decodeApplied(_ p: [UInt8]) -> (RequestID, UInt64, UInt64, Result<Void, StoreError>)? {
        guard p.count >= 36, p[16] == appliedTag, p[17] == 0xFF, p[18] == 0xFF,
              let incarnation = p.readUInt64(at: 0), let seq = p.readUInt64(at: 8),
              let index = p.readUInt64(at: 19), let term = p.readUInt64(at: 27) else { return nil }
        let request = RequestID(incarnation: incarnation, seq: seq)
        switch p[35] {
        case 0:
            return (request, index, term, .success(()))
        case 1:
            // The failure strings, decoded as in a failure payload.
            let failure = Array(p[0..<16]) + [1] + Array(p[36...])
            guard let (_, r) = decodeResult(failure), case .failure(let e) = r else { return nil }
            return (request, index, term, .failure(e))
        default:
            return nil
        }
    }

    /// Follower: the leader applied the entry at (index, term) appended for `request`. Kept for a
    /// waiter at exactly that (index, term) if the result is one this member reaches too; used if
    /// this node's own apply has not answered within `leaderResultGrace`.
    func receivedApplied(_ payload: [UInt8], from peer: String) {
        guard let (request, index, term, result) = Self.decodeApplied(payload) else {
            log("warn", "dropped malformed forwarded-proposal apply result", ["peer": peer])
            return
        }
        guard request.incarnation == incarnation, Self.sameOnEveryMember(result) else { return }
        if let p = forwarded.removeValue(forKey: request) {
            // Its append acknowledgement never arrived (a connection dropped in between).
            let w = Waiter(term: term, origin: p.origin, deadline: p.deadline)
            if index <= spoolApplied {
                resolve(w, index: index, term: term, result)
                return
            }
            waiters[index, default: []].append(w)
        }
        guard let ws = waiters[index], ws.contains(where: { $0.term == term }) else { return }  // applied here, or given up
        leaderResults[index] = LeaderResult(term: term, result: result, at: EventLoop.now())
        scheduleLeaderResultSweep()
    }

    /// A result received from the leader, and when (monotonic ns).
    struct LeaderResult {
        var term: UInt64
        var result: Result<Void, StoreError>
        var at: UInt64
    }

    /// Runs `settleLeaderResults` when the oldest kept result's grace ends.
    func scheduleLeaderResultSweep() {
        guard !leaderResultSweep, let oldest = leaderResults.values.map(\.at).min() else { return }
        leaderResultSweep = true
        let now = EventLoop.now()
        let due = oldest &+ leaderResultGrace
        let me = LoopBound(self, loop: loop)
        _ = loop.schedule(after: due > now ? Double(due - now) / 1e9 : 0) { me.value.settleLeaderResults() }
    }

    /// Completes the waiters whose leader result is older than the grace: this node's own apply
    /// is behind (catching up, installing a snapshot). A node applying in time answers from its
    /// own apply, so what it answered is in its spool when the completion runs.
    func settleLeaderResults() {
        leaderResultSweep = false
        let now = EventLoop.now()
        for (index, r) in leaderResults where now &- r.at >= leaderResultGrace {
            leaderResults[index] = nil
            guard let ws = waiters[index] else { continue }
            var keep: [Waiter] = []
            for w in ws {
                if w.term == r.term { resolve(w, index: index, term: r.term, r.result) } else { keep.append(w) }
            }
            waiters[index] = keep.isEmpty ? nil : keep
        }
        scheduleLeaderResultSweep()
    }
}
