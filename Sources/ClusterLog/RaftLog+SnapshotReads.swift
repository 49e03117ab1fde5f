import Foundation
import NetworkIO

/// A leader reads the spool copy it streams as a snapshot off its raft loop.
///
/// The copy of a deep queue is gigabytes (about 9 GB at 10⁶ queued 5 KB messages): more than the
/// page cache holds next to the spool and the raft log, so its chunks come from the disk, behind
/// the writeback of the copy itself. Read on the loop, each 1 MiB chunk stalled the loop long
/// enough that no heartbeat went out: the other follower elected itself, the new leader started
/// its own copy, and the same happened again (10⁶ queued on 3 nodes: three leaders in two minutes,
/// the snapshot never arrived). Now chunks are read on the stream's own serial queue, ahead of the
/// sending up to the stream's window (`snapshotWindow`, counting the bytes read but not sent and
/// those queued on the bulk lane): one read at a time with a loop round trip per chunk left the
/// disk idle while the loop sent. Each chunk carries its offset and is sent in order.
extension RaftLog {
    /// Queues reads of the next chunks of `s` on its reader while the window has room.
    func requestSnapshotChunks(_ s: inout OutgoingSnapshot, peer: String) {
        guard let handle = s.handle, let reader = s.reader else { return }
        let queued = UInt64(transport.queuedBytes(to: peer, lane: .bulk))
        while s.requested < s.size, s.requested - s.offset + queued < UInt64(Self.snapshotWindow) {
            let offset = s.requested
            let count = Int(min(UInt64(Self.snapshotChunk), s.size - offset))
            s.requested += UInt64(count)
            let read = snapshotChunkRead
            let me = LoopBound(self, loop: loop)
            let id = s.id
            reader.async {
                let result = Result { () throws -> Data in
                    try handle.seek(toOffset: offset)
                    return try read(handle, count) ?? Data()
                }
                me.execute { $0.snapshotChunkRead(peer: peer, id: id, offset: offset, count: count, result) }
            }
        }
    }

    /// Loop side of a chunk read: sends the chunks read so far in order and goes on with the stream.
    private func snapshotChunkRead(peer: String, id: UInt64, offset: UInt64, count: Int, _ result: Result<Data, Error>) {
        guard var s = outgoingSnapshots[peer], s.id == id else { return }  // aborted meanwhile
        guard raft.role == .leader else {
            abortSnapshot(peer)
            return
        }
        switch result {
        case .success(let data) where data.count == count:
            s.ready[offset] = data
        case .success(let data):
            log("error", "reading the spool copy failed",
                ["error": "ends at \(offset + UInt64(data.count)) of \(s.size) bytes"])
            abortSnapshot(peer)
            return
        case .failure(let error):
            log("error", "reading the spool copy failed", ["error": "\(error)"])
            abortSnapshot(peer)
            return
        }
        while let chunk = s.ready.removeValue(forKey: s.offset) {
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
        pumpSnapshots()
    }
}
