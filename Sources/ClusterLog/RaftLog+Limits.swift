import SpoolStore

extension RaftLog {
    /// Largest log entry a node proposes: the peer frame limit (256 MiB) less 1 MiB for the frame
    /// and message headers around it. An entry that could not be framed would never replicate
    /// (the leader would retry it forever), so it is refused before it enters the log.
    public static let maxEntryBytes = (256 << 20) - (1 << 20)

    /// The refusal for an encoded command of `size` bytes, nil when it may be proposed. Pure.
    static func entrySizeProblem(_ size: Int, limit: Int = maxEntryBytes) -> StoreError? {
        guard size > limit else { return nil }
        return StoreError(.resourceLimit, "log entry of \(size) bytes exceeds the \(limit)-byte limit of one replicated entry",
                          context: "propose")
    }
}
