import Foundation
import NetworkIO

/// A leader reads the spool copy it streams as a snapshot off its raft loop.
///
/// The copy of a deep queue is gigabytes (about 9 GB at 10⁶ queued 5 KB messages): more than the
/// page cache holds next to the spool and the raft log, so its chunks come from the disk, behind
/// the writeback of the copy itself. Read on the loop, each 1 MiB chunk stalled the loop long
/// enough that no heartbeat went out: the other follower elected itself, the new leader started
/// its own copy, and the same happened again (10⁶ queued on 3 nodes: three leaders in two minutes,
/// the snapshot never arrived). Now one chunk at a time is read on the stream's own queue and sent
/// from the loop when it is read.
extension RaftLog {
    /// Reads the chunk at `s.offset` of the copy on `s.reader`, then hands it to the loop.
    func readSnapshotChunk(_ s: OutgoingSnapshot, peer: String) {
        guard let handle = s.handle, let reader = s.reader else { return }
        let read = snapshotChunkRead
        let me = LoopBound(self, loop: loop)
        let id = s.id
        reader.async {
            let result = Result { try read(handle, Self.snapshotChunk) ?? Data() }
            me.execute { $0.snapshotChunkRead(peer: peer, id: id, result) }
        }
    }

    /// Loop side of a chunk read: sends it and goes on with the stream.
    private func snapshotChunkRead(peer: String, id: UInt64, _ result: Result<Data, Error>) {
        guard var s = outgoingSnapshots[peer], s.id == id else { return }  // aborted meanwhile
        s.reading = false
        outgoingSnapshots[peer] = s
        guard raft.role == .leader else {
            abortSnapshot(peer)
            return
        }
        let chunk: Data
        switch result {
        case .success(let data):
            chunk = data
        case .failure(let error):
            log("error", "reading the spool copy failed", ["error": "\(error)"])
            abortSnapshot(peer)
            return
        }
        guard !chunk.isEmpty else {
            log("error", "reading the spool copy failed", ["error": "ends at \(s.offset) of \(s.size) bytes"])
            abortSnapshot(peer)
            return
        }
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
        outgoingSnapshots[peer] = s
        pumpSnapshots()
    }
}
