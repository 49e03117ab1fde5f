import CLMDB

extension SpoolStore {
    /// When the oldest queued message was accepted (ms since epoch), nil with an empty queue.
    /// Queue IDs begin with their acceptance time, so the first message record is the oldest
    /// (IDs made elsewhere, e.g. by tests, may break that order). Any thread; one read.
    public func oldestQueuedReceivedAt() throws -> Int64? {
        try read { txn in
            let cursor = try txn.cursor(dbMessages)
            defer { cursor.close() }
            guard let first = try cursor.get(MDB_FIRST) else { return nil }
            return try StoredMessage(decoding: first.value).receivedAt
        }
    }
}
