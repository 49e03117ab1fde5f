extension Raft {
    /// One membership change. Only one may be pending (proposed but not yet applied) at a time.
    /// Carried in an entry of kind `.confChange`; the application calls `Raft.applyConfChange` when
    /// that entry is committed.
    public struct ConfChange: Equatable, Hashable, Sendable {
        /// The change to make.
        public enum Kind: UInt8, Sendable {
            /// Add a non-voting replica that receives the log (catch it up before promoting).
            case addLearner = 0
            /// Make an existing learner a voter.
            case promoteToVoter = 1
            /// Remove a voter or learner.
            case removeNode = 2
        }

        /// The change.
        public var kind: Kind
        /// The node it concerns.
        public var nodeID: UInt64

        /// Creates a change. Does not block; any caller.
        public init(_ kind: Kind, nodeID: UInt64) {
            self.kind = kind
            self.nodeID = nodeID
        }

        /// Encodes the change as entry payload (9 bytes). Does not block.
        public func encode() -> [UInt8] {
            var w = WireWriter()
            w.byte(kind.rawValue)
            w.fixed64(nodeID)
            return w.bytes
        }

        /// Decodes an entry payload written by `encode()`; throws `.decodeFailed` on malformed input.
        public static func decode(_ bytes: [UInt8]) throws(Raft.Error) -> ConfChange {
            var r = WireReader(bytes[...])
            guard let kind = Kind(rawValue: try r.byte()) else {
                throw Raft.Error(.decodeFailed, "unknown conf change kind")
            }
            let id = try r.fixed64()
            guard r.isAtEnd else { throw Raft.Error(.decodeFailed, "trailing bytes after conf change") }
            return ConfChange(kind, nodeID: id)
        }
    }
}
