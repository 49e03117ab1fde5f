extension Raft {
    /// Work the shell must do, returned by `Raft.ready()`. Handle it in this order, then call
    /// `Raft.advance(_:)`:
    /// 1. If `snapshot` is set: persist it (replacing the log) and load its data into the application.
    /// 2. Append `entries` to storage (an entry replaces any stored entry at the same or later index),
    ///    persist `hardState` if set; fsync when `mustSync`.
    /// 3. Only then send `messages` (they may acknowledge the entries just written or carry votes).
    /// 4. Apply `committedEntries` in order (for `.confChange` entries call `Raft.applyConfChange`).
    /// 5. Answer `readStates` once the applied index reaches each one's `index`.
    public struct Ready: Sendable {
        /// New leader / role, nil when unchanged.
        public var softState: SoftState?
        /// Hard state to persist, nil when unchanged.
        public var hardState: HardState?
        /// Entries to append to stable storage.
        public var entries: [Entry]
        /// Snapshot to persist and install, nil if none.
        public var snapshot: Snapshot?
        /// Committed entries to apply to the state machine, in order.
        public var committedEntries: [Entry]
        /// Messages to send after persisting.
        public var messages: [Message]
        /// Whether the writes must be fsynced before sending messages (entries, a snapshot, or a new
        /// term or vote). When false only the commit index changed, which may be lost in a crash.
        public var mustSync: Bool
        /// Confirmed read indexes for `Raft.readIndex` requests made on this node.
        public var readStates: [ReadState] = []
    }
}
