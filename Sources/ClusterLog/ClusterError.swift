/// An error from the cluster shell (raft storage, peer transport, configuration).
///
/// `code` is what callers switch on, `reason` is a sentence for operators, `context` names the
/// operation, peer or path involved. Proposal failures reach SMTP as `StoreError` (see
/// `RaftLog.propose`); this type covers setup and I/O. Pure value; any thread.
public struct ClusterError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Sendable, Equatable {
        /// The configuration cannot form a cluster (duplicate ids, missing secret, bad address).
        case invalidConfig
        /// The raft storage (LMDB) failed.
        case storage
        /// Stored raft data could not be decoded.
        case corrupt
        /// A socket operation failed.
        case network
        /// A peer failed authentication or spoke an unknown protocol.
        case authentication
        /// The log is stopped.
        case closed
    }

    /// The error category.
    public var code: Code
    /// Human-readable explanation.
    public var reason: String
    /// Operation, peer or path.
    public var context: String

    /// Creates an error. Any thread.
    public init(_ code: Code, _ reason: String, context: String = "") {
        self.code = code
        self.reason = reason
        self.context = context
    }

    /// `code: reason (context)`.
    public var description: String {
        context.isEmpty ? "\(code.rawValue): \(reason)" : "\(code.rawValue): \(reason) (\(context))"
    }
}
