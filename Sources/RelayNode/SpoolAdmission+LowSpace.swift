import SpoolStore

extension SpoolAdmission {
    /// The fields of the `spool.space_low` warning: what is used and left, and when new mail gets
    /// 452. Pure; any thread.
    static func lowSpaceFields(_ u: SpoolStore.SpaceUsage, reserve reserveMB: Int) -> [(String, String)] {
        [("usedMB", String(u.used >> 20)), ("availableMB", String(u.available >> 20)),
         ("mapSizeMB", String(u.mapSize >> 20)), ("filesystemFreeMB", u.filesystemFree.map { String($0 >> 20) } ?? "?"),
         ("refuseBelowMB", String(reserveMB)),
         ("maxMapSizeMB", String(max(u.mapSize, u.maxMapSize) >> 20)),
         ("action", "raise spool.maxMapSizeMB (takes effect on restart) or free disk; new messages get 452 below refuseBelowMB")]
    }
}

extension SpoolAdmission {
    /// The `lowSpace` handler that logs `spool.space_low` at warning level. Any thread.
    /// The `spool.map_grown` log line: the map grew by itself from `from` to `to` bytes.
    static func mapGrown(_ logger: NodeLogger, maxMB: Int) -> @Sendable (Int, Int) -> Void {
        { from, to in
            logger.log(.info, "spool.map_grown", fields: [("fromMB", String(from >> 20)), ("toMB", String(to >> 20)),
                                                          ("maxMB", String(maxMB))])
        }
    }

    static func warning(_ logger: NodeLogger, reserveMB: Int) -> @Sendable (SpoolStore.SpaceUsage) -> Void {
        { usage in logger.log(.warning, "spool.space_low", fields: lowSpaceFields(usage, reserve: reserveMB)) }
    }
}
