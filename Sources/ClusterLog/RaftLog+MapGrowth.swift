/// The raft map's growth, reported (`LogBodyReader+MapGrowth.swift` grows it).
extension RaftLog {
    /// Logs `raft.map_grown` (info, with `fromMB`, `toMB`, `maxMB`) each time the raft store's map
    /// grows. Called once at init; the lines come from the driving thread.
    static func logMapGrowth(of storage: RaftLogStorage, options: Options, logSink: @escaping LogSink) {
        let node = options.nodeID
        let maxMB = String(max(options.maxMapSize, options.mapSize) >> 20)
        storage.bodyReader.onMapGrown { from, to in
            logSink("info", "raft.map_grown", ["fromMB": String(from >> 20), "toMB": String(to >> 20), "maxMB": maxMB,
                                               "node": node])
        }
    }

    /// Times the raft store's map grew since the log was opened (`sendarix_raft_lmdb_map_grown_total`).
    /// Any thread, after `init`.
    public var mapGrowthCount: Int { storage.bodyReader.mapGrowthCount }
}
