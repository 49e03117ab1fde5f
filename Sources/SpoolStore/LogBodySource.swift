/// Where the bodies of cluster-enqueued messages live when the spool does not copy them: inside
/// the committed Raft log entries of the node's own raft store (see `SpoolStore+LogBodies.swift`
/// and `deploy/ARCHITECTURE.md`, "Bodies written once"). Implemented by the cluster log
/// (`LogBodyReader`); set on the store with ``SpoolStore/setLogBodySource(_:)``.
///
/// Implementations must be callable from any thread and must not call back into the spool.
public protocol LogBodySource: AnyObject, Sendable {
    /// Calls `body` with the `length` bytes at `offset` of the data of log entry `index`, borrowed
    /// (valid only during the call). Returns nil when the log holds no entry at `index` or the
    /// entry is shorter than `offset + length`. Throws when the log cannot be read (closed, I/O).
    func withEntryBytes<T>(index: UInt64, offset: Int, length: Int,
                           _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T?
}
