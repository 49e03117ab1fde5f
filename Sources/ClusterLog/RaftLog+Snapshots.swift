import Foundation
import NetworkIO
import RaftCore
import SpoolStore

/// Spool snapshots for members behind the compacted log (a new member, a long-lagging learner).
///
/// Leader: when Raft wants to send a snapshot to a peer, a compacted copy of the spool is made
/// on a background thread (`SpoolStore.backup`) and streamed on the bulk lane in 1 MiB chunks
/// (at most 8 MiB queued at a time), followed by an end frame with the copy's applied index, term
/// and the membership. Raft is told the snapshot succeeded once the end frame is queued.
///
/// Follower: chunks are written to `<raft dir>/incoming`, fsynced, and on the end frame moved to
/// `<raft dir>/snapshot` with its metadata; `status().snapshotPending` turns true and
/// `Options.onSnapshotReady` runs. The spool cannot be swapped under the running node (other
/// components hold the `SpoolStore`), so installing takes a restart of the node's storage: stop the
/// `RaftLog`, close the spool, call `RaftLog.installPendingSnapshot(raftDirectory:spoolDirectory:)`,
/// then open both again. Loop thread only, except the static installer.
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
    }

    struct IncomingSnapshot {
        var id: UInt64
        var leader: String
        var handle: FileHandle
        var received: UInt64
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
        outgoingSnapshots[peer] = OutgoingSnapshot(id: id, directory: dir)
        let store = self.store
        let me = LoopBound(self, loop: loop)
        Thread.detachNewThread {
            let result = Result { () throws -> (UInt64, UInt64, UInt64) in
                try? FileManager.default.removeItem(atPath: dir)
                try store.backup(to: dir)
                let copy = try SpoolStore(directory: dir, options: SpoolStore.Options(mapSize: store.options.mapSize))
                let applied = try copy.lastApplied()
                copy.close()
                let size = try FileManager.default.attributesOfItem(atPath: dir + "/data.mdb")[.size] as? UInt64 ?? 0
                return (applied.index, applied.term, size)
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

    /// Sends chunks while the bulk lane has room; finishes streams that are done.
    func pumpSnapshots() {
        for (peer, var s) in outgoingSnapshots {
            guard let handle = s.handle else { continue }
            if raft.role != .leader {
                abortSnapshot(peer)
                continue
            }
            while s.offset < s.size && transport.queuedBytes(to: peer, lane: .bulk) < Self.snapshotWindow {
                let chunk: Data
                do {
                    chunk = try handle.read(upToCount: Self.snapshotChunk) ?? Data()
                } catch {
                    log("error", "reading the spool copy failed", ["error": "\(error)"])
                    abortSnapshot(peer)
                    return
                }
                if chunk.isEmpty { break }
                var payload = [UInt8]()
                payload.reserveCapacity(16 + chunk.count)
                payload.appendUInt64(s.id)
                payload.appendUInt64(s.offset)
                payload.append(contentsOf: chunk)
                guard transport.send(PeerFrame(.snapshotChunk, payload), to: peer, lane: .bulk) else {
                    abortSnapshot(peer)
                    return
                }
                s.offset += UInt64(chunk.count)
            }
            outgoingSnapshots[peer] = s
            guard s.offset >= s.size else { continue }
            var end = [UInt8]()
            end.appendUInt64(s.id)
            end.appendUInt64(s.size)
            end.appendUInt64(s.index)
            end.appendUInt64(s.term)
            var w = WireWriter(capacity: 64)
            s.conf.encode(into: &w)
            end.append(contentsOf: w.bytes)
            let sent = transport.send(PeerFrame(.snapshotEnd, end), to: peer, lane: .bulk)
            finishOutgoing(peer)
            if let rid = ids.ids[peer] { raft.reportSnapshot(to: rid, success: sent) }
            if sent {
                snapshotSentAt[peer] = EventLoop.now()
                log("info", "snapshot sent", ["peer": peer, "index": "\(s.index)", "bytes": "\(s.size)"])
            }
        }
    }

    private func finishOutgoing(_ peer: String) {
        guard let s = outgoingSnapshots.removeValue(forKey: peer) else { return }
        try? s.handle?.close()
        try? FileManager.default.removeItem(atPath: s.directory)
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
                try? incomingSnapshot?.handle.close()
                try? FileManager.default.removeItem(atPath: incomingDir)
                do {
                    try FileManager.default.createDirectory(atPath: incomingDir, withIntermediateDirectories: true)
                } catch {
                    return
                }
                _ = FileManager.default.createFile(atPath: incomingDir + "/data.mdb", contents: nil)
                guard let h = FileHandle(forWritingAtPath: incomingDir + "/data.mdb") else { return }
                incomingSnapshot = IncomingSnapshot(id: id, leader: peer, handle: h, received: 0)
                log("info", "receiving a spool snapshot", ["leader": peer])
            }
            guard var s = incomingSnapshot, s.received == second else {
                incomingSnapshot = nil  // a gap: drop the stream, the leader retries
                return
            }
            do {
                try s.handle.write(contentsOf: p[16...])
            } catch {
                log("error", "writing snapshot failed", ["error": "\(error)"])
                incomingSnapshot = nil
                return
            }
            s.received += UInt64(p.count - 16)
            incomingSnapshot = s
            return
        }
        guard let s = incomingSnapshot, s.id == id, s.received == second,
              let index = p.readUInt64(at: 16), let term = p.readUInt64(at: 24) else { return }
        incomingSnapshot = nil
        do {
            try s.handle.synchronize()
            try s.handle.close()
            var meta = WireWriter(capacity: 64)
            meta.varint(index)
            meta.varint(term)
            var all = meta.bytes
            all.append(contentsOf: p[32...])
            try Data(all).write(to: URL(fileURLWithPath: incomingDir + "/meta"), options: .atomic)
            let ready = snapshotRoot + "/snapshot"
            try? FileManager.default.removeItem(atPath: ready)
            try FileManager.default.moveItem(atPath: incomingDir, toPath: ready)
            guard FileManager.default.createFile(atPath: ready + "/complete", contents: Data()) else {
                throw ClusterError(.storage, "cannot mark the snapshot complete", context: ready)
            }
            snapshotPending = true
            log("warn", "spool snapshot received; restart the node to install it",
                ["leader": peer, "index": "\(index)", "bytes": "\(second)"])
            refreshStatus()
            options.onSnapshotReady?()
        } catch {
            log("error", "storing snapshot failed", ["error": "\(error)"])
        }
    }

    /// Installs a snapshot received by a previous run, if any: replaces the spool's data file with
    /// it and resets the raft log to the snapshot point. Call with the node stopped, BEFORE opening
    /// the `SpoolStore` and the `RaftLog` (e.g. at node start). Returns whether one was installed.
    /// Crash-safe: an interrupted install is completed by the next call. Blocks for file I/O.
    public static func installPendingSnapshot(raftDirectory: String, spoolDirectory: String) throws -> Bool {
        let fm = FileManager.default
        let ready = raftDirectory + "/snapshot"
        try? fm.removeItem(atPath: raftDirectory + "/incoming")
        guard fm.fileExists(atPath: ready + "/complete"), let meta = fm.contents(atPath: ready + "/meta") else {
            return false
        }
        var r = WireReader(Array(meta)[...])
        let index = try r.varint()
        let term = try r.varint()
        let conf = try Raft.ConfState.decode(from: &r)
        if fm.fileExists(atPath: ready + "/data.mdb") {
            try fm.createDirectory(atPath: spoolDirectory, withIntermediateDirectories: true)
            try? fm.removeItem(atPath: spoolDirectory + "/data.mdb")
            try? fm.removeItem(atPath: spoolDirectory + "/lock.mdb")
            try fm.moveItem(atPath: ready + "/data.mdb", toPath: spoolDirectory + "/data.mdb")
        }
        let storage = try RaftLogStorage(directory: raftDirectory, initialVoters: conf.voters)
        try storage.reset(toSnapshot: index, term: term, confState: conf)
        storage.close()
        try fm.removeItem(atPath: ready)
        return true
    }
}
