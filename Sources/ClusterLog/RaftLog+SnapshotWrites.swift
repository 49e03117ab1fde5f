import Foundation
import Synchronization

/// A follower writes a snapshot stream to disk off its raft loop.
///
/// A deep queue's snapshot is gigabytes (about 9 GB at 10⁶ queued 5 KB messages). Written on the
/// loop, each chunk could wait for the kernel's dirty-page throttling and the final fsync for the
/// whole file: seconds to minutes in which the member answered nothing (no acknowledgements, no
/// forwarded mail answered from the leader's apply results). The chunks now go to a serial queue of
/// their own, in order; the end frame waits there for the fsync and comes back to the loop.
extension RaftLog {
    final class SnapshotWriter: @unchecked Sendable {
        // Safe: `handle` is used only on `queue`; `failure` is behind its mutex.
        private let queue = DispatchQueue(label: "sendarix.raft.snapshot-write")
        private let handle: FileHandle
        private let write: @Sendable (FileHandle, Data) throws -> Void
        private let failure = Mutex<String?>(nil)

        init(handle: FileHandle, write: @escaping @Sendable (FileHandle, Data) throws -> Void) {
            self.handle = handle
            self.write = write
        }

        /// Appends `data` after what was queued before; a failure is kept for `finish`.
        func write(_ data: Data) {
            queue.async { [self] in
                guard failure.withLock({ $0 }) == nil else { return }
                do {
                    try write(handle, data)
                } catch {
                    failure.withLock { $0 = "\(error)" }
                }
            }
        }

        /// After every queued write: fsyncs and closes the file, then `done` (on the writer's queue).
        func finish(_ done: @escaping @Sendable (Result<Void, Error>) -> Void) {
            queue.async { [self] in
                let result = Result { () throws -> Void in
                    if let why = failure.withLock({ $0 }) {
                        throw ClusterError(.storage, "writing snapshot failed: \(why)")
                    }
                    try handle.synchronize()
                    try handle.close()
                }
                if case .failure = result { try? handle.close() }
                done(result)
            }
        }

        /// Drops the stream: closes the file after the writes queued (nothing is fsynced).
        func close() {
            queue.async { [self] in try? handle.close() }
        }
    }
}
