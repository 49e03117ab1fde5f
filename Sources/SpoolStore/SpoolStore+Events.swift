import CLMDB

extension SpoolStore {
    /// Events matching `query`, newest first, at most `query.limit` (the first page of
    /// ``searchEvents(_:)``). Any thread; one read transaction.
    public func events(_ query: EventQuery) throws -> [Event] {
        try searchEvents(query).events
    }

    /// Events in commit order (oldest first) following the event whose ``Event/id``
    /// is `afterID` (nil: from the oldest retained event), at most `limit`
    /// (clamped to 1...10_000). For tailing consumers such as webhook
    /// dispatch: remember the last delivered ID and ask for what follows. Unlike
    /// timestamps, commit order never inserts an event before one already
    /// returned. Throws `.invalidCommand` for a malformed ID. Any thread.
    public func eventFeed(after afterID: String?, limit: Int) throws -> [Event] {
        var start: [UInt8] = [SpoolKeys.feedTag]
        if let afterID {
            let parts = afterID.split(separator: "-")
            guard parts.count == 2, let index = UInt64(parts[0]), let ordinal = UInt32(parts[1]) else {
                throw StoreError(.invalidCommand, "malformed event ID", context: afterID)
            }
            var w = BinaryWriter(capacity: 12)
            w.u64(index)
            w.u32(ordinal)
            start += w.bytes
        }
        let limit = min(max(limit, 1), 10_000)
        return try read { txn in
            let cursor = try txn.cursor(dbEventIndex)
            defer { cursor.close() }
            var item = try cursor.seek(atLeast: start)
            if afterID != nil, let cur = item, cur.key.elementsEqual(start) { item = try cursor.get(MDB_NEXT) }
            var out: [Event] = []
            while let cur = item, out.count < limit, cur.key.first == SpoolKeys.feedTag {
                guard let v = try txn.get(dbEvents, Array(cur.value)) else {
                    throw StoreError(.corrupt, "event feed points at a missing event", context: "eventFeed")
                }
                out.append(try Event(decoding: v))
                item = try cursor.get(MDB_NEXT)
            }
            return out
        }
    }
}
