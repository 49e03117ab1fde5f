import ClusterLog
import SendarixSupport

extension RelayNode {
    /// The raft map's figures on `/metrics`: `sendarix_raft_lmdb_map_grown_total`,
    /// `sendarix_raft_lmdb_map_size_bytes` and `sendarix_raft_lmdb_map_used_bytes` (the spool's
    /// are `sendarix_lmdb_map_*`). One short read transaction; any thread.
    static func raftMapMetrics(_ raft: RaftLog, into out: inout PrometheusText) {
        let reader = raft.logBodyReader
        out.counter("sendarix_raft_lmdb_map_grown_total", "Times the raft log's LMDB map grew by itself.",
                    Double(reader.mapGrowthCount))
        guard let usage = try? reader.spaceUsage() else { return }
        out.gauge("sendarix_raft_lmdb_map_size_bytes", "Raft log LMDB map size (most it holds before it grows), bytes.",
                  Double(usage.mapSize))
        out.gauge("sendarix_raft_lmdb_map_used_bytes", "Raft log LMDB pages in use, bytes.", Double(usage.used))
    }
}
