import Foundation
import Synchronization

/// Removing spool copies and partial snapshots without leaking them and off the raft loop.
///
/// A leader's copy (`<raft dir>/outgoing-<id>`) is about 9 GB at 10⁶ queued messages. It used to be
/// removed only when its stream finished or was aborted on the loop: a leader stopped mid-stream
/// left it behind for good, a copy aborted while being built was removed on the loop and then
/// written again by the builder, and removing gigabytes on the loop stalls heartbeats. Now:
/// leftovers of a previous run (`outgoing-*`, a partial `incoming`) are removed in the background
/// when the log opens, a stream is aborted when the node stops, and a copy still being built is
/// removed by its builder once it is done (`SnapshotBuild`).
extension RaftLog {
    /// Where spool copies and partial snapshots are removed, one at a time, off the loop.
    static let snapshotCleanupQueue = DispatchQueue(label: "sendarix.raft.snapshot-cleanup")

    /// Whether a spool copy is being built, was built, or was given up while being built.
    final class SnapshotBuild: Sendable {
        enum State { case building, built, cancelled }
        private let state = Mutex(State.building)

        /// Builder side, when the copy is written: false if the stream was given up meanwhile
        /// (the builder then removes the copy itself).
        func finish() -> Bool {
            state.withLock { s in
                guard s == .building else { return false }
                s = .built
                return true
            }
        }

        /// Loop side, giving the stream up: true if the builder is still writing the copy and
        /// will remove it; false if the copy is complete and the caller removes it.
        func cancel() -> Bool {
            state.withLock { s in
                guard s == .building else { return false }
                s = .cancelled
                return true
            }
        }
    }

    /// The leftovers of a previous run in `root` to remove: `outgoing-*` copies and `stale-*`
    /// directories. A partial `incoming` stream is first renamed to a `stale-` name (a cheap
    /// rename, so a new stream can create `incoming` at once). Blocks for a directory listing.
    static func takeStaleSnapshotDirectories(in root: String) -> [String] {
        let fm = FileManager.default
        _ = setAside(root + "/incoming")
        let names = (try? fm.contentsOfDirectory(atPath: root)) ?? []
        return names.filter { $0.hasPrefix("outgoing-") || $0.hasPrefix("stale-") }.sorted().map { root + "/" + $0 }
    }

    /// Renames `dir` (a partial incoming stream) to a `stale-incoming-` name beside it, so it can
    /// be removed later off the raft loop; removes it at once only when the rename fails. Returns
    /// the new name, nil when there was nothing (or it is gone). Blocks for a rename.
    static func setAside(_ dir: String) -> String? {
        let fm = FileManager.default
        guard fm.fileExists(atPath: dir) else { return nil }
        let aside = (dir as NSString).deletingLastPathComponent + "/stale-incoming-\(UInt64.random(in: 1...UInt64.max))"
        do {
            try fm.moveItem(atPath: dir, toPath: aside)
            return aside
        } catch {
            try? fm.removeItem(atPath: dir)
            return nil
        }
    }

    /// Moves a partial incoming stream aside and removes it on the cleanup queue, never on the raft
    /// loop (it may be gigabytes). Loop thread.
    func discardIncoming(_ dir: String) {
        guard let aside = Self.setAside(dir) else { return }
        let remove = snapshotCopyRemove
        Self.snapshotCleanupQueue.async { remove(aside) }
    }

    /// At open, before any new stream: removes the leftovers of a previous run in the background.
    func discardStaleSnapshotCopies() {
        let stale = Self.takeStaleSnapshotDirectories(in: snapshotRoot)
        guard !stale.isEmpty else { return }
        logSink("info", "removing snapshot copies left by a previous run", ["count": "\(stale.count)"])
        let remove = snapshotCopyRemove
        Self.snapshotCleanupQueue.async { for dir in stale { remove(dir) } }
    }
}
