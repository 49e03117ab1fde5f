extension Raft {
    /// One replicated log entry: its position (`index`), the leader term that created it, whether it is
    /// application data or a membership change, and the opaque payload. Plain value; safe anywhere.
    public struct Entry: Equatable, Hashable, Sendable {
        /// What the payload of an entry means.
        public enum Kind: UInt8, Sendable {
            /// Application command (or empty: the no-op a new leader appends).
            case normal = 0
            /// An encoded `Raft.ConfChange`; the application calls `Raft.applyConfChange` when it is committed.
            case confChange = 1
        }

        /// Term of the leader that appended the entry.
        public var term: UInt64
        /// Log position, starting at 1.
        public var index: UInt64
        /// Payload meaning.
        public var kind: Kind
        /// Opaque payload bytes.
        public var data: [UInt8]

        /// Creates an entry. Does not block; any caller.
        public init(term: UInt64, index: UInt64, kind: Kind = .normal, data: [UInt8] = []) {
            self.term = term
            self.index = index
            self.kind = kind
            self.data = data
        }

        /// Approximate size used for byte budgets (payload plus fixed header). Does not block.
        @inlinable public var byteSize: Int { data.count + 24 }
    }
}
