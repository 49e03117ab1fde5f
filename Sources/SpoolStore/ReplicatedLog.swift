/// Where spool commands are proposed: the single-node ``LocalLog`` or a Raft
/// log. An implementation commits the command durably (locally fsynced, or on
/// a majority), applies it to the ``SpoolStore`` and then reports.
public protocol ReplicatedLog: Sendable {
    /// Proposes a command; `completion` runs (on the writer/applier thread)
    /// once it is committed and applied, with its log index, or with an error:
    /// a state-machine rejection (`.duplicate`, `.staleAttempt`,
    /// `.leaseConflict`, `.notFound`, `.invalidCommand`) or a storage failure
    /// (`.storageFull`, `.unavailable`, `.ioError`, `.closed`). Does not block; any thread.
    /// `completion` must not block: hand work to your own thread/loop. In a cluster, "applied"
    /// is applied here; only a new message (an enqueue) on a member whose own apply has not
    /// answered within about a second (one catching up through a snapshot) is answered once the
    /// leader that appended it applied it (the result is the same on every member; the message
    /// reaches this member's spool when it catches up).
    func propose(_ command: SpoolCommand, completion: @escaping @Sendable (Result<UInt64, StoreError>) -> Void)
    /// The log entry format proposals are written in now (see `SpoolCommand+Formats`): a command
    /// needing a newer one is written as a no-op (a clustered log refuses a webhook batch command
    /// instead: `SpoolCommand.formatProblem`). Any thread.
    var entryFormat: UInt8 { get }
}

extension ReplicatedLog {
    /// This build's newest format (a log of one node, or a test double). Any thread.
    public var entryFormat: UInt8 { SpoolCommand.formatVersion }
}
