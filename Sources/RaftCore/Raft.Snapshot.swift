extension Raft {
    /// A point-in-time image of the application state: everything up to and including `index`
    /// (whose entry had `term`), the membership at that point and the opaque application bytes.
    ///
    /// The application builds snapshots itself (see `RaftMemoryStorage.createSnapshot`) and hands
    /// them to Raft through `RaftStorage.snapshot()`. When a follower is behind the leader's first
    /// log index the leader sends the whole snapshot in one `.installSnapshot` message. Streaming large
    /// data is the transport's job: it may split `data` into frames on the wire, but it must deliver
    /// the message to the peer's `step` only once complete, and report the result with
    /// `Raft.reportSnapshot(to:success:)` (a missing report is recovered by a timeout).
    public struct Snapshot: Equatable, Sendable {
        /// Index of the last entry the snapshot covers.
        public var index: UInt64
        /// Term of that entry.
        public var term: UInt64
        /// Membership as of `index`.
        public var confState: ConfState
        /// Application state bytes.
        public var data: [UInt8]

        /// Creates a snapshot. Does not block; any caller.
        public init(index: UInt64 = 0, term: UInt64 = 0, confState: ConfState = ConfState(), data: [UInt8] = []) {
            self.index = index
            self.term = term
            self.confState = confState
            self.data = data
        }

        /// True for the zero snapshot of a brand-new log.
        public var isEmpty: Bool { index == 0 }
    }
}
