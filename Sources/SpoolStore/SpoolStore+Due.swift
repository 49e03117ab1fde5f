import CLMDB

extension SpoolStore {
    /// Queue IDs due at `now`, most recently due first: a backward walk of the due index from
    /// `now`, so mail that just arrived (due at its arrival) and retries that just came due are
    /// found at once even behind an overdue backlog that ``dueMessages(now:limit:)`` returns
    /// oldest first. Visits at most `limit` entries. Any thread.
    public func recentlyDueMessages(now: Int64, limit: Int) throws -> [String] {
        guard limit > 0 else { return [] }
        return try read { txn in
            let cursor = try txn.cursor(dbDue)
            defer { cursor.close() }
            var out: [String] = []
            // First key due after `now` (time `now + 1`, empty queue ID), then step back.
            var item: (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)?
            if now < Int64.max, try cursor.seek(atLeast: SpoolKeys.due(now + 1, "")) != nil {
                item = try cursor.get(MDB_PREV)
            } else {
                item = try cursor.get(MDB_LAST)
            }
            while let cur = item, out.count < limit {
                var r = BinaryReader(cur.key, what: "due key")
                if SpoolKeys.unbiased(try r.u64()) <= now {
                    out.append(String(decoding: UnsafeRawBufferPointer(rebasing: cur.key[8...]), as: UTF8.self))
                }
                item = try cursor.get(MDB_PREV)
            }
            return out
        }
    }
}
