import Foundation
import NetworkIO
import RaftCore
import SendarixSupport
import SpoolStore

/// Peer frames: raft messages, forwarded proposals and their results, compaction hints.
/// Loop thread only.
extension RaftLog {
    func received(_ frame: PeerFrame, from peer: String) {
        guard !stopping || stopCompletion != nil else { return }
        switch frame.kind {
        case .raft:
            guard let m = decodeRaftMessage(frame.payload, from: peer) else { return }
            if m.kind == .installSnapshot {
                // Snapshots travel as spool copies (`.snapshotChunk`/`.snapshotEnd`) and are installed
                // on restart; a bare Raft snapshot message would claim state this spool lacks.
                return
            }
            let dropped = raft.malformedDropped
            raft.step(m)
            if raft.malformedDropped != dropped { logRaftDrop(from: peer) }
            scheduleProcess()
        case .forward:
            guard let incarnation = frame.payload.readUInt64(at: 0), let seq = frame.payload.readUInt64(at: 8) else {
                log("warn", "dropped malformed forwarded proposal", ["peer": peer])
                return
            }
            let request = RequestID(incarnation: incarnation, seq: seq)
            let data = Array(frame.payload[16...])
            if let problem = SpoolCommand.formatProblem(data) {
                log("warn", "refused a forwarded proposal", ["peer": peer, "reason": problem.reason])
                sendResult(to: peer, request: request, .failure(problem))
                return
            }
            let deadline = EventLoop.now() + UInt64(options.proposalTimeout * 1e9)
            if stopping || raft.role != .leader {
                sendResult(to: peer, request: request, .failure(notLeader()))
                return
            }
            pending.append(Proposal(data: data, origin: .remote(peer: peer, request: request), deadline: deadline))
            scheduleProcess()
        case .forwardResult:
            if frame.payload.count > 16, frame.payload[16] == Self.appliedTag {
                receivedApplied(frame.payload, from: peer)
                return
            }
            guard let (request, result) = Self.decodeResult(frame.payload) else {
                log("warn", "dropped malformed forwarded-proposal result", ["peer": peer])
                return
            }
            guard request.incarnation == incarnation else {
                // For a request of an earlier run of this node: its proposal is gone, and the
                // sequence number may now name another one.
                log("info", "ignored a forwarded-proposal result for a previous incarnation",
                    ["peer": peer, "request": "\(request.seq)"])
                return
            }
            guard let p = forwarded.removeValue(forKey: request) else { return }
            switch result {
            case .success(let (index, term)):
                if index <= spoolApplied {
                    // Already applied here before the acknowledgement arrived.
                    let w = Waiter(term: term, origin: p.origin, deadline: p.deadline)
                    if let (t, r) = recentResults[index] {
                        resolve(w, index: index, term: t, r)
                    } else {
                        finish(p.origin, .failure(unavailable("outcome of entry \(index) no longer known")))
                    }
                } else {
                    waiters[index, default: []].append(Waiter(term: term, origin: p.origin, deadline: p.deadline))
                }
            case .failure(let e):
                if e.context == "raft-not-leader", !stopping, p.deadline > EventLoop.now() {
                    pending.append(p)  // never proposed there: retry on the current leader
                    scheduleRetry()
                    return
                }
                finish(p.origin, .failure(e))
            }
        case .leaderView:
            guard let index = frame.payload.readUInt64(at: 0), ids.ids[peer] == raft.leader else { return }
            compactHint = index
            liveMembers = Self.decodeNames(frame.payload.dropFirst(8))
            leaderFormat = Self.viewFormat(frame.payload.dropFirst(8))
            followLeaderFormat(announced: leaderFormat, leader: peer)
            liveReceived = EventLoop.now()
        case .snapshotChunk, .snapshotEnd:
            receiveSnapshot(frame, from: peer)
        case .hello:
            break
        }
    }

    /// Leader → forwarding node: its proposal was appended at (index, term).
    func sendAppended(to peer: String, request: RequestID, index: UInt64, term: UInt64) {
        transport.send(PeerFrame(.forwardResult, Self.appendedPayload(request, index: index, term: term)), to: peer,
                       lane: .control)
    }

    /// Leader → forwarding node: its proposal failed (a failure of success is not sent: see
    /// `sendAppended`).
    func sendResult(to peer: String, request: RequestID, _ result: Result<UInt64, StoreError>) {
        guard case .failure(let e) = result else { return }
        transport.send(PeerFrame(.forwardResult, Self.failurePayload(request, e)), to: peer, lane: .control)
    }

    /// A `.forwardResult` payload for a proposal appended at (index, term). Pure.
    static func appendedPayload(_ request: RequestID, index: UInt64, term: UInt64) -> [UInt8] {
        var p = [UInt8]()
        p.appendUInt64(request.incarnation)
        p.appendUInt64(request.seq)
        p.append(0)
        p.appendUInt64(index)
        p.appendUInt64(term)
        return p
    }

    /// A `.forwardResult` payload for a failed proposal. Pure.
    static func failurePayload(_ request: RequestID, _ e: StoreError) -> [UInt8] {
        var p = [UInt8]()
        p.appendUInt64(request.incarnation)
        p.appendUInt64(request.seq)
        p.append(1)
        for s in [e.code.rawValue, e.reason, e.context] {
            let b = Array(s.utf8.prefix(4000))
            p.append(UInt8(b.count >> 8))
            p.append(UInt8(b.count & 0xff))
            p.append(contentsOf: b)
        }
        return p
    }

    /// Decodes a `.forwardResult` payload; nil when malformed. Pure.
    static func decodeResult(_ p: [UInt8]) -> (RequestID, Result<(UInt64, UInt64), StoreError>)? {
        guard let incarnation = p.readUInt64(at: 0), let seq = p.readUInt64(at: 8), p.count > 16 else { return nil }
        let request = RequestID(incarnation: incarnation, seq: seq)
        if p[16] == 0 {
            guard let index = p.readUInt64(at: 17), let term = p.readUInt64(at: 25) else { return nil }
            return (request, .success((index, term)))
        }
        var strings: [String] = []
        var i = 17
        for _ in 0..<3 {
            guard i + 2 <= p.count else { return nil }
            let n = Int(p[i]) << 8 | Int(p[i + 1])
            guard i + 2 + n <= p.count else { return nil }
            strings.append(String(decoding: p[(i + 2)..<(i + 2 + n)], as: UTF8.self))
            i += 2 + n
        }
        let code = StoreError.Code(rawValue: strings[0]) ?? .internalError
        return (request, .failure(StoreError(code, strings[1], context: strings[2])))
    }

    /// Leader: tells every member the index all of them have replicated (they may compact to it)
    /// and which members are live (heard from within two election timeouts). A member silent for
    /// longer than `compactionHoldSeconds` is left out of that index: it will need a snapshot.
    func advertiseLeaderView() {
        let st = raft.status()
        let now = EventLoop.now()
        let hold = UInt64(max(0, options.compactionHoldSeconds) * 1e9)
        var minMatch = spoolApplied
        for p in st.peers {
            let heard = max(transport.lastContact[ids.name(p.id)] ?? createdAt, leaderSince)
            if now &- heard < hold { minMatch = min(minMatch, p.match) }
        }
        if st.peers.count + 1 >= raft.confState.voters.count + raft.confState.learners.count { compactHint = minMatch }
        let window = 2 * electionNanos
        var live = [options.nodeID]
        for p in st.peers {
            let name = ids.name(p.id)
            if let c = transport.lastContact[name], now &- c < window { live.append(name) }
        }
        liveMembers = live.sorted()
        liveReceived = now
        var payload = [UInt8]()
        payload.appendUInt64(compactHint)
        payload.append(UInt8(min(liveMembers.count, 255)))
        for name in liveMembers.prefix(255) {
            let b = Array(name.utf8.prefix(255))
            payload.append(UInt8(b.count))
            payload.append(contentsOf: b)
        }
        payload.append(effectiveFormat)  // after the names: builds before it ignore it (RaftLog+Formats)
        for p in st.peers { transport.send(PeerFrame(.leaderView, payload), to: ids.name(p.id), lane: .control) }
    }

    static func decodeNames(_ p: ArraySlice<UInt8>) -> [String] {
        guard let count = p.first else { return [] }
        var out: [String] = []
        var i = p.startIndex + 1
        for _ in 0..<count {
            guard i < p.endIndex else { break }
            let n = Int(p[i])
            guard i + 1 + n <= p.endIndex else { break }
            out.append(String(decoding: p[(i + 1)..<(i + 1 + n)], as: UTF8.self))
            i += 1 + n
        }
        return out
    }

    /// One election timeout in nanoseconds.
    var electionNanos: UInt64 { UInt64(Double(options.electionTicks) * options.tickInterval * 1e9) }

    /// Compacts the local log when it is long, never past what is applied here, what every member
    /// has (per the leader's hint), or the retained tail. A spool opened without fsync
    /// (`spool.fsync: false`) commits without flushing, so the raft log would be the only durable
    /// copy of what it applied: its data file is fsynced first (off the loop), then the log is
    /// compacted up to what was applied before that flush.
    func maybeCompact() {
        sweepBodies()
        guard !spoolFlushInFlight, storage.entryCount > options.compactThreshold else { return }
        let applied = spoolApplied
        guard applied > options.retainedEntries else { return }
        let target = min(applied - options.retainedEntries, compactHint)
        guard target > storage.firstIndex else { return }
        if store.options.durable {
            compact(to: target, spoolFlushed: false)
            return
        }
        spoolFlushInFlight = true
        let path = store.directory + "/data.mdb"
        let me = LoopBound(self, loop: loop)
        Thread.detachNewThread {
            ThreadPriority.resetToProcessNice()  // started by the raft loop, which may run raised
            let error = Self.fsyncFile(path)
            me.execute { log in
                log.spoolFlushInFlight = false
                guard !log.stopping else { return }
                if let error {
                    log.log("error", "flushing the spool before compaction failed", ["error": error, "path": path])
                } else {
                    log.compact(to: target, spoolFlushed: true)
                }
            }
        }
    }

    private func compact(to target: UInt64, spoolFlushed: Bool) {
        do {
            let at = try storage.compact(to: target, keeping: pinnedBodies)
            log("info", "raft log compacted", ["through": "\(at)", "entries": "\(storage.entryCount)",
                                               "spoolFlushed": "\(spoolFlushed)"])
        } catch {
            log("error", "raft log compaction failed", ["error": "\(error)"])
        }
    }

    /// fsyncs the file at `path` (what LMDB committed without syncing reaches the disk); nil on
    /// success, else the error. Blocks for the flush; any thread.
    static func fsyncFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "open: \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        guard fsync(fd) == 0 else { return "fsync: \(String(cString: strerror(errno)))" }
        return nil
    }
}
