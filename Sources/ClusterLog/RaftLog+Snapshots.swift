import Foundation
import NetworkIO
import RaftCore
import SendarixSupport
import SpoolStore

/// Spool snapshots for members behind the compacted log (a new member, a long-lagging learner).
///
/// Leader: when Raft wants to send a snapshot to a peer, a compacted copy of the spool is made
/// on a background thread (`SpoolStore.backup`; bodies the spool keeps in this node's raft log are
/// copied into it first, `SpoolStore.materializeLogBodies`) and streamed on the bulk lane in 1 MiB chunks
/// (at most 8 MiB read ahead or queued at a time), followed by an end frame with the copy's applied index, term
/// and the membership. Raft is told the snapshot succeeded once the end frame is queued.
///
/// Follower: chunks are written to `<raft dir>/incoming`, fsynced, and on the end frame moved to
/// `<raft dir>/snapshot` with its metadata; `status().snapshotPending` turns true and
/// `Options.onSnapshotReady` runs. The spool cannot be swapped under the running node (other
/// components hold the `SpoolStore`), so installing takes a restart of the node's storage: stop the
/// `RaftLog`, close the spool, call `RaftLog.installPendingSnapshot(raftDirectory:spoolDirectory:)`,
/// then open both again. Loop thread only, except the static installer.
///
/// A snapshot is kept only if it comes from the leader this node follows, was sent in the current
/// term, and is ahead of this node's commit and applied indexes; the installer checks again
/// against what is on disk (see `installPendingSnapshot`). An older snapshot would erase entries
/// this node holds, may have acknowledged, and has committed.
extension RaftLog {
    struct OutgoingSnapshot {
        var id: UInt64
        var directory: String
        var handle: FileHandle?
        var size: UInt64 = 0
        var offset: UInt64 = 0
        var index: UInt64 = 0
        var term: UInt64 = 0
        var conf = Raft.ConfState()
        /// Reads the copy's chunks off the loop, in order (`RaftLog+SnapshotReads.swift`).
        var reader: DispatchQueue?
        /// The offset up to which chunk reads were queued on `reader` (read ahead of `offset`).
        var requested: UInt64 = 0
        /// Chunks read but not yet sent, by offset.
        var ready: [UInt64: Data] = [:]
        /// Whether the copy is still being built (`RaftLog+SnapshotCleanup.swift`).
        var build = SnapshotBuild()
    }

    struct IncomingSnapshot {
        var id: UInt64
        var leader: String
        var received: UInt64
        /// Writes the chunks and the final fsync off the loop (`RaftLog+SnapshotWrites.swift`).
        var writer: SnapshotWriter
    }

    static let snapshotChunk = 1 << 20
    static let snapshotWindow = 8 << 20
    /// Seconds before a peer that just received a snapshot may be sent another.
    static let snapshotCooldown: Double = 30

    var snapshotRoot: String { options.directory }

    func startSnapshotStream(to peer: String) {
        guard raft.role == .leader, outgoingSnapshots[peer] == nil else { return }
        if let sent = snapshotSentAt[peer], EventLoop.now() &- sent < UInt64(Self.snapshotCooldown * 1e9) { return }
        let id = UInt64.random(in: 1...UInt64.max)
        let dir = "\(snapshotRoot)/outgoing-\(id)"
        let build = SnapshotBuild()
        outgoingSnapshots[peer] = OutgoingSnapshot(id: id, directory: dir, build: build)
        let remove = snapshotCopyRemove
        let store = self.store
        let bodies = storage.bodyReader
        let me = LoopBound(self, loop: loop)
        Thread.detachNewThread {
            // Started by the raft loop, which may run raised (`spool.writerNice`): a snapshot copy
            // is long and must not take the CPU before the SMTP loops.
            ThreadPriority.resetToProcessNice()
            let result = Result { () throws -> (UInt64, UInt64, UInt64) in
                try? FileManager.default.removeItem(atPath: dir)
                try store.backup(to: dir)
                let copy = try SpoolStore(directory: dir, options: RaftLog.snapshotCopyOptions(store.options))
                // The receiver's raft log does not hold this node's retained entries: send bodies.
                do {
                    try copy.materializeLogBodies(from: bodies)
                } catch {
                    copy.close()
                    throw error
                }
                let applied = try copy.lastApplied()
                copy.close()
                let size = try FileManager.default.attributesOfItem(atPath: dir + "/data.mdb")[.size] as? UInt64 ?? 0
                return (applied.index, applied.term, size)
            }
            // Given up while being built (the node stopped, or aborted): nobody else removes it.
            guard build.finish() else {
                remove(dir)
                return
            }
            me.execute { $0.snapshotPrepared(peer: peer, id: id, result) }
        }
        log("info", "snapshot stream started", ["peer": peer])
    }

    private func snapshotPrepared(peer: String, id: UInt64, _ result: Result<(UInt64, UInt64, UInt64), Error>) {
        guard var s = outgoingSnapshots[peer], s.id == id else { return }
        do {
            let (index, term, size) = try result.get()
            // The follower continues from the log after `index`: the leader must still hold it.
            guard raft.role == .leader, index + 1 >= raft.firstIndex else {
                throw ClusterError(.storage, "spool copy at \(index) is behind the log start \(raft.firstIndex)")
            }
            guard let handle = FileHandle(forReadingAtPath: s.directory + "/data.mdb") else {
                throw ClusterError(.storage, "cannot read the spool copy", context: s.directory)
            }
            s.handle = handle
            s.reader = DispatchQueue(label: "sendarix.raft.snapshot-read.\(peer)")
            s.size = size
            s.index = index
            s.term = term
            s.conf = raft.confState
            outgoingSnapshots[peer] = s
            pumpSnapshots()
        } catch {
            log("error", "snapshot stream failed", ["peer": peer, "error": "\(error)"])
            abortSnapshot(peer)
        }
    }

    /// Starts the next chunk read of each stream while its bulk lane has room (the read runs off
    /// the loop: `RaftLog+SnapshotReads.swift`); finishes streams that are done.
    func pumpSnapshots() {
        for (peer, var s) in outgoingSnapshots {
            guard s.handle != nil else { continue }
            if raft.role != .leader {
                abortSnapshot(peer)
                continue
            }
            if s.offset < s.size {
                requestSnapshotChunks(&s, peer: peer)
                outgoingSnapshots[peer] = s
                continue
            }
            let end = Self.snapshotEndPayload(id: s.id, size: s.size, index: s.index, term: s.term, conf: s.conf,
                                              leaderTerm: raft.term)
            let sent = transport.send(PeerFrame(.snapshotEnd, end), to: peer, lane: .bulk)
            finishOutgoing(peer)
            if let rid = ids.ids[peer] { raft.reportSnapshot(to: rid, success: sent) }
            if sent {
                snapshotSentAt[peer] = EventLoop.now()
                log("info", "snapshot sent", ["peer": peer, "index": "\(s.index)", "bytes": "\(s.size)"])
            }
        }
    }

    /// The `.snapshotEnd` payload: `u64 stream id | u64 size | u64 index | u64 term | membership |
    /// u64 term of the sending leader`. Pure.
    static func snapshotEndPayload(id: UInt64, size: UInt64, index: UInt64, term: UInt64, conf: Raft.ConfState,
                                   leaderTerm: UInt64) -> [UInt8] {
        var end = [UInt8]()
        end.appendUInt64(id)
        end.appendUInt64(size)
        end.appendUInt64(index)
        end.appendUInt64(term)
        var w = WireWriter(capacity: 64)
        conf.encode(into: &w)
        end.append(contentsOf: w.bytes)
        end.appendUInt64(leaderTerm)
        return end
    }

    func finishOutgoing(_ peer: String) {
        guard let s = outgoingSnapshots.removeValue(forKey: peer) else { return }
        // Still being built: the builder removes the copy when it is done writing it.
        if s.build.cancel() { return }
        let handle = s.handle
        let directory = s.directory
        let remove = snapshotCopyRemove
        // After a read that may still run; removing a copy of gigabytes is not for the loop either.
        let close: @Sendable () -> Void = {
            try? handle?.close()
            remove(directory)
        }
        (s.reader ?? Self.snapshotCleanupQueue).async(execute: close)
    }

    func abortSnapshot(_ peer: String) {
        finishOutgoing(peer)
        if let rid = ids.ids[peer] { raft.reportSnapshot(to: rid, success: false) }
    }

    /// Follower: writes received chunks; on the end frame publishes the snapshot for installing.
    func receiveSnapshot(_ frame: PeerFrame, from peer: String) {
        let p = frame.payload
        guard let id = p.readUInt64(at: 0), let second = p.readUInt64(at: 8), !snapshotPending else { return }
        let incomingDir = snapshotRoot + "/incoming"
        if frame.kind == .snapshotChunk {
            if incomingSnapshot?.id != id || incomingSnapshot?.leader != peer {
                guard second == 0 else { return }  // joined mid-stream: wait for the next one
                guard ids.ids[peer] == raft.leader else {
                    log("warn", "refused a spool snapshot stream: not from the current leader",
                        ["peer": peer, "leader": raft.leader == 0 ? "none" : ids.name(raft.leader)])
                    return
                }
                incomingSnapshot?.writer.close()
                discardIncoming(incomingDir)
                do {
                    try FileManager.default.createDirectory(atPath: incomingDir, withIntermediateDirectories: true)
                } catch {
                    return
                }
                _ = FileManager.default.createFile(atPath: incomingDir + "/data.mdb", contents: nil)
                guard let h = FileHandle(forWritingAtPath: incomingDir + "/data.mdb") else { return }
                incomingSnapshot = IncomingSnapshot(id: id, leader: peer, received: 0,
                                                    writer: SnapshotWriter(handle: h, write: snapshotChunkWrite))
                log("info", "receiving a spool snapshot", ["leader": peer])
            }
            guard var s = incomingSnapshot, s.received == second else {
                incomingSnapshot?.writer.close()
                incomingSnapshot = nil  // a gap: drop the stream, the leader retries
                return
            }
            s.writer.write(Data(p[16...]))
            s.received += UInt64(p.count - 16)
            incomingSnapshot = s
            return
        }
        guard let s = incomingSnapshot, s.id == id, s.received == second,
              p.readUInt64(at: 16) != nil, p.readUInt64(at: 24) != nil, p.count >= 40,
              p.readUInt64(at: p.count - 8) != nil else { return }
        incomingSnapshot = nil
        // The chunks written and fsynced (off the loop), the end frame is checked on the loop.
        let me = LoopBound(self, loop: loop)
        s.writer.finish { result in
            me.execute { $0.snapshotStored(p, from: peer, result) }
        }
    }

    /// The end frame `p` of a stream whose chunks are written and fsynced (or failed): checks it
    /// and publishes the snapshot for installing. Loop thread.
    func snapshotStored(_ p: [UInt8], from peer: String, _ stored: Result<Void, Error>) {
        let incomingDir = snapshotRoot + "/incoming"
        snapshotStreamsEnded += 1
        guard let second = p.readUInt64(at: 8), let index = p.readUInt64(at: 16), let term = p.readUInt64(at: 24),
              let leaderTerm = p.readUInt64(at: p.count - 8) else { return }
        // A newer stream began meanwhile: it owns the incoming directory now.
        guard !snapshotPending, incomingSnapshot == nil else { return }
        if case .failure(let error) = stored {
            log("error", "storing snapshot failed", ["error": "\(error)"])
            discardIncoming(incomingDir)
            return
        }
        var r = WireReader(p[32..<(p.count - 8)])
        guard let conf = try? Raft.ConfState.decode(from: &r), r.isAtEnd, !conf.voters.isEmpty,
              index <= Raft.Message.maxTermOrIndex, term <= leaderTerm else {
            log("warn", "refused a spool snapshot: malformed end frame", ["peer": peer])
            discardIncoming(incomingDir)
            return
        }
        if let why = refusal(ofSnapshotFrom: peer, index: index, leaderTerm: leaderTerm) {
            log("warn", "refused a spool snapshot: \(why)",
                ["peer": peer, "index": "\(index)", "snapshotTerm": "\(leaderTerm)", "term": "\(raft.term)",
                 "commit": "\(raft.commitIndex)", "applied": "\(spoolApplied)"])
            discardIncoming(incomingDir)
            return
        }
        do {
            let meta = SnapshotMeta(index: index, term: term, leaderTerm: leaderTerm, conf: conf)
            try Self.publishSnapshot(raftDirectory: snapshotRoot, incoming: incomingDir, meta: meta)
            snapshotPending = true
            log("warn", "spool snapshot received; restart the node to install it",
                ["leader": peer, "index": "\(index)", "bytes": "\(second)"])
            refreshStatus()
            options.onSnapshotReady?()
        } catch {
            log("error", "storing snapshot failed", ["error": "\(error)"])
        }
    }

    /// Why a completed snapshot stream from `peer` must not be kept, or nil: it must come from the
    /// leader this node follows, in the current term, and be ahead of what this node committed and
    /// applied (an older one would erase entries this node holds and may have acknowledged).
    func refusal(ofSnapshotFrom peer: String, index: UInt64, leaderTerm: UInt64) -> String? {
        if raft.leader == 0 || ids.ids[peer] != raft.leader { return "not from the current leader" }
        if leaderTerm != raft.term { return "sent in term \(leaderTerm), this node is in term \(raft.term)" }
        if index <= raft.commitIndex || index <= spoolApplied {
            return "index \(index) is not ahead of this node's commit \(raft.commitIndex) / applied \(spoolApplied)"
        }
        return nil
    }

    /// What a received snapshot is: the spool copy's applied index and term, the term of the
    /// leader that sent it, and the membership. Stored as `<raft dir>/snapshot/meta`.
    struct SnapshotMeta: Equatable {
        var index: UInt64
        var term: UInt64
        var leaderTerm: UInt64
        var conf: Raft.ConfState

        func encoded() -> [UInt8] {
            var w = WireWriter(capacity: 64)
            w.varint(index)
            w.varint(term)
            conf.encode(into: &w)
            w.varint(leaderTerm)
            return w.bytes
        }

        /// Decodes `encoded()`; a meta without the leader's term (written by an earlier version)
        /// reads as term 0, which no install accepts over a node that has a term.
        static func decode(_ bytes: [UInt8]) throws -> SnapshotMeta {
            var r = WireReader(bytes[...])
            let index = try r.varint()
            let term = try r.varint()
            let conf = try Raft.ConfState.decode(from: &r)
            let leaderTerm = r.isAtEnd ? 0 : try r.varint()
            return SnapshotMeta(index: index, term: term, leaderTerm: leaderTerm, conf: conf)
        }
    }

    /// Moves a fully written and fsynced `incoming` directory (holding `data.mdb`) to
    /// `<raftDirectory>/snapshot` with `meta` and marks it complete, for `installPendingSnapshot`.
    /// Blocks for file I/O; any thread.
    static func publishSnapshot(raftDirectory: String, incoming: String, meta: SnapshotMeta) throws {
        try Data(meta.encoded()).write(to: URL(fileURLWithPath: incoming + "/meta"), options: .atomic)
        let ready = raftDirectory + "/snapshot"
        try? FileManager.default.removeItem(atPath: ready)
        try FileManager.default.moveItem(atPath: incoming, toPath: ready)
        guard FileManager.default.createFile(atPath: ready + "/complete", contents: Data()) else {
            throw ClusterError(.storage, "cannot mark the snapshot complete", context: ready)
        }
    }

    /// Installs a snapshot received by a previous run, if any: replaces the spool's data file with
    /// it and resets the raft log to the snapshot point (entries after it are kept when the log
    /// holds the snapshot's entry). Call with the node stopped, BEFORE opening the `SpoolStore` and
    /// the `RaftLog` (e.g. at node start). Returns whether one was installed.
    ///
    /// A snapshot that is not ahead of this node is refused (discarded, logged to `logSink`,
    /// false returned): its index must be beyond the raft log's commit index and compaction point
    /// and the spool's applied index, and it must have been sent in this node's current term or a
    /// later one. Installing an older one would erase entries this node acknowledged and leave a
    /// commit index beyond the log. Crash-safe: an interrupted install is completed by the next
    /// call. Blocks for file I/O.
    public static func installPendingSnapshot(raftDirectory: String, spoolDirectory: String,
                                              logSink: LogSink = RaftLog.stderrLog) throws -> Bool {
        let fm = FileManager.default
        let ready = raftDirectory + "/snapshot"
        // A partial stream is set aside (a rename); the log removes it in the background once open.
        _ = setAside(raftDirectory + "/incoming")
        guard fm.fileExists(atPath: ready + "/complete"), let bytes = fm.contents(atPath: ready + "/meta") else {
            return false
        }
        let meta = try SnapshotMeta.decode(Array(bytes))
        let storage = try RaftLogStorage(directory: raftDirectory, initialVoters: meta.conf.voters)
        defer { storage.close() }
        if fm.fileExists(atPath: ready + "/data.mdb") {
            // Not yet moved into the spool (otherwise an interrupted install is being completed).
            let (hard, _) = storage.initialState()
            let applied = try spoolApplied(spoolDirectory)
            var why: String?
            if meta.index <= max(hard.commit, storage.firstIndex - 1, applied) {
                why = "index \(meta.index) is not ahead of this node (commit \(hard.commit), "
                    + "compacted through \(storage.firstIndex - 1), spool applied \(applied))"
            } else if meta.leaderTerm < hard.term {
                why = "sent in term \(meta.leaderTerm), this node is in term \(hard.term)"
            }
            if let why {
                logSink("warn", "refused to install a spool snapshot: \(why)",
                        ["index": "\(meta.index)", "directory": raftDirectory])
                try fm.removeItem(atPath: ready)
                return false
            }
            try fm.createDirectory(atPath: spoolDirectory, withIntermediateDirectories: true)
            try? fm.removeItem(atPath: spoolDirectory + "/data.mdb")
            try? fm.removeItem(atPath: spoolDirectory + "/lock.mdb")
            try fm.moveItem(atPath: ready + "/data.mdb", toPath: spoolDirectory + "/data.mdb")
        }
        try storage.reset(toSnapshot: meta.index, term: meta.term, confState: meta.conf)
        try fm.removeItem(atPath: ready)
        logSink("info", "installed a spool snapshot", ["index": "\(meta.index)", "directory": raftDirectory])
        return true
    }

    /// The applied index of the spool in `directory` (0 when there is none). Opens and closes it.
    static func spoolApplied(_ directory: String) throws -> UInt64 {
        guard FileManager.default.fileExists(atPath: directory + "/data.mdb") else { return 0 }
        let store = try SpoolStore(directory: directory)
        defer { store.close() }
        return try store.lastApplied().index
    }

    /// The default `LogSink` of the static installer: one line on standard error.
    public static let stderrLog: LogSink = { level, event, fields in
        let f = fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        FileHandle.standardError.write(Data("\(level) \(event) \(f)\n".utf8))
    }
}
