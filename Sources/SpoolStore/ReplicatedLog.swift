/// Where spool commands are proposed: the single-node ``LocalLog`` or a Raft
/// log. An implementation commits the command durably (locally fsynced, or on
/// a majority), applies it to the ``SpoolStore`` and then reports.
public protocol ReplicatedLog: Sendable {
    /// Proposes a command; `completion` runs (on the writer/applier thread)
    /// once it is committed and applied, with its log index, or with an error:
    /// a state-machine rejection (`.duplicate`, `.staleAttempt`,
    /// `.leaseConflict`, `.notFound`, `.invalidCommand`) or a storage failure
    /// (`.storageFull`, `.unavailable`, `.ioError`, `.closed`). Does not block; any thread.
    /// `completion` must not block: hand work to your own thread/loop.
    func propose(_ command: SpoolCommand, completion: @escaping @Sendable (Result<UInt64, StoreError>) -> Void)
}
