import SpoolStore

/// Bodies written once: compaction keeps entries whose message is still queued and a periodic
/// sweep drops them once it left (see `RaftLogStorage+Pins.swift`, `SpoolStore+LogBodies.swift`).
/// Loop thread only.
extension RaftLog {
    /// The reader of bodies kept in this node's raft store, which also reports the raft map's free
    /// space (`LogBodyReader.availableBytes`) for admission. Call after `init` (the storage is set
    /// there once); the reader itself may be used on any thread.
    public var logBodyReader: LogBodyReader { storage.bodyReader }

    /// The entries in `range` holding bodies of queued messages (read from the spool).
    func pinnedBodies(_ range: ClosedRange<UInt64>) throws(ClusterError) -> [UInt64] {
        do {
            return try store.logBodyPins(in: range)
        } catch {
            throw ClusterError(.storage, "reading the spool's body pins failed: \(error)", context: "compaction")
        }
    }

    /// About once a second, checks `options.sweepSlice` retained entries (round robin) and deletes
    /// those whose message left the queue: a bounded piece of work on this loop, which also sends
    /// the heartbeats. While a slice comes back at least half unpinned (a backlog: many messages
    /// left at once), the next slice runs on the next tick.
    func sweepBodies() {
        guard storage.retainedCount > 0 else {
            sweepBehind = false
            return
        }
        guard sweepBehind || ticks % 10 == 3 else { return }
        let slice = max(1, options.sweepSlice)
        do {
            let store = self.store
            let dropped = try storage.sweepRetained(max: slice) { indexes throws(ClusterError) in
                do {
                    return try store.logBodyPins(among: indexes)
                } catch {
                    throw ClusterError(.storage, "reading the spool's body pins failed: \(error)", context: "sweep")
                }
            }
            sweepBehind = dropped * 2 >= slice
            if dropped > 0 {
                log("debug", "raft entries of delivered bodies dropped",
                    ["entries": "\(dropped)", "retained": "\(storage.retainedCount)"])
            }
        } catch {
            sweepBehind = false
            log("error", "dropping raft entries of delivered bodies failed", ["error": "\(error)"])
        }
    }
}

extension RaftLog {
    /// With `bodiesInLog` off (or a spool without fsync), copies every body the spool still
    /// references in the raft log back into the spool, so the sweep can drop the retained entries
    /// (the way back to a release without this feature; see deploy/CLUSTER-BODIES.md). Blocks;
    /// at open, before the applier runs.
    func copyBodiesBackIfSwitchedOff(_ storage: RaftLogStorage) throws {
        guard !(options.bodiesInLog && store.options.durable) else { return }
        let (copied, missing) = try store.materializeLogBodies(from: storage.bodyReader)
        if copied + missing > 0 {
            log("info", "bodies copied from the raft log into the spool (cluster.bodiesInLog is off)",
                ["copied": "\(copied)", "missing": "\(missing)"])
        }
    }
}
