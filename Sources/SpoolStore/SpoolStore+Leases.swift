import CLMDB

extension SpoolStore {
    /// Queue IDs of the messages whose recorded lease names `owner` (expired or not), ordered by
    /// queue ID, at most `limit`, after `after` (the last ID of the previous page). Reads the lease
    /// table: the work is the leases `owner` holds, not the queue's depth. Any thread.
    public func leasedMessages(owner: String, after: String? = nil, limit: Int) throws -> [String] {
        guard limit > 0 else { return [] }
        return try read { txn in
            let prefix = SpoolKeys.lease(owner: owner, "")
            let cursor = try txn.cursor(dbLeases)
            defer { cursor.close() }
            var out: [String] = []
            var item: (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)?
            if let after {
                let bound = SpoolKeys.lease(owner: owner, after)
                item = try cursor.seek(atLeast: bound)
                if let cur = item, cur.key.elementsEqual(bound) { item = try cursor.get(MDB_NEXT) }
            } else {
                item = try cursor.seek(atLeast: prefix)
            }
            while let cur = item, cur.key.hasPrefix(prefix), out.count < limit {
                out.append(String(decoding: UnsafeRawBufferPointer(rebasing: cur.key[prefix.count...]), as: UTF8.self))
                item = try cursor.get(MDB_NEXT)
            }
            return out
        }
    }
}
