extension Raft {
    /// The answer to a `Raft.readIndex(context:)` request: once the application has applied
    /// `index`, a read of its state is linearizable (reflects every write committed before the
    /// request was made).
    public struct ReadState: Equatable, Sendable {
        /// Commit index confirmed by a quorum when the read was requested.
        public var index: UInt64
        /// The request id given to `readIndex`.
        public var context: [UInt8]

        /// Creates a read state. Does not block; any caller.
        public init(index: UInt64, context: [UInt8]) {
            self.index = index
            self.context = context
        }
    }

    /// A read waiting for a quorum of heartbeat acknowledgements (leader side).
    struct PendingRead {
        var context: [UInt8]
        var index: UInt64
        var from: UInt64
        var acks: Set<UInt64>
    }
}
