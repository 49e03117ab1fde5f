extension RaftLog.Options {
    /// Environment variables that override the log-compaction settings, for benchmarks that must
    /// make a member fall behind the compacted log within minutes (`cluster/bench --only restart`):
    /// `SENDARIX_RAFT_COMPACT_THRESHOLD` (`compactThreshold`, entries), `SENDARIX_RAFT_RETAINED_ENTRIES`
    /// (`retainedEntries`) and `SENDARIX_RAFT_COMPACTION_HOLD_SECONDS` (`compactionHoldSeconds`).
    /// Not configuration: production keeps the defaults.
    public static let compactionEnvironmentKeys = ["SENDARIX_RAFT_COMPACT_THRESHOLD", "SENDARIX_RAFT_RETAINED_ENTRIES",
                                                   "SENDARIX_RAFT_COMPACTION_HOLD_SECONDS"]

    /// Applies the overrides of `compactionEnvironmentKeys` found in `environment`; values that do
    /// not parse, or are negative (a threshold or retained count below 1), are ignored. Pure.
    public mutating func applyCompactionOverrides(_ environment: [String: String]) {
        if let n = environment["SENDARIX_RAFT_COMPACT_THRESHOLD"].flatMap(Int.init), n >= 1 { compactThreshold = n }
        if let n = environment["SENDARIX_RAFT_RETAINED_ENTRIES"].flatMap(UInt64.init), n >= 1 { retainedEntries = n }
        if let s = environment["SENDARIX_RAFT_COMPACTION_HOLD_SECONDS"].flatMap(Double.init), s >= 0, s.isFinite {
            compactionHoldSeconds = s
        }
    }
}
