import Registry

extension SpoolCommand {
    /// The `StoreError.context` of a proposal refused by `formatProblem`.
    public static let formatGateContext = "log entry format"

    /// Why the command cannot be proposed while the cluster writes log entry format `format`, or
    /// nil: a pull forward (format 6) below 6, or a batch-record lease or result (format 5) would be written as a no-op below 5 and
    /// commit without doing anything (a result lost, a 410 that never disables); the proposer
    /// gets this failure instead and keeps it for later. Pure; any thread.
    public func formatProblem(format: UInt8) -> StoreError? {
        // A pull forward below 6 would commit as a no-op: its proposer would claim messages that
        // are not due (refused) and think them pulled.
        if format < 6, case .pullForward = self {
            return StoreError(.unavailable, "a pull forward needs log entry format 6 (the cluster writes \(format))",
                              context: Self.formatGateContext)
        }
        guard format < 5, case .registry(.webhook(let w)) = self, w.needsBatchRecords else { return nil }
        return StoreError(.unavailable, "a webhook batch command needs log entry format 5 (the cluster writes \(format))",
                          context: Self.formatGateContext)
    }
}
