import CLMDB

extension SpoolStore {
    /// A position in the due index: a message's due time and queue ID.
    public struct DuePosition: Sendable, Equatable {
        /// Due time (ms since epoch).
        public var at: Int64
        /// Queue ID.
        public var queueID: String

        /// Creates a position. Pure.
        public init(at: Int64, queueID: String) {
            self.at = at
            self.queueID = queueID
        }
    }

    /// Due-index entries due at `now` strictly after `after` (from the start when nil), earliest
    /// first, at most `limit`: lets the scheduler step over a run of entries it knows it will not
    /// claim (parked messages) instead of reading them on every pass. Any thread.
    public func dueEntries(now: Int64, after: DuePosition?, limit: Int) throws -> [DuePosition] {
        guard limit > 0 else { return [] }
        return try read { txn in
            let cursor = try txn.cursor(dbDue)
            defer { cursor.close() }
            var out: [DuePosition] = []
            var item: (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)?
            if let after {
                let bound = SpoolKeys.due(after.at, after.queueID)
                item = try cursor.seek(atLeast: bound)
                if let cur = item, cur.key.elementsEqual(bound) { item = try cursor.get(MDB_NEXT) }
            } else {
                item = try cursor.get(MDB_FIRST)
            }
            while let cur = item, out.count < limit {
                var r = BinaryReader(cur.key, what: "due key")
                let at = SpoolKeys.unbiased(try r.u64())
                guard at <= now else { break }
                out.append(DuePosition(at: at, queueID: String(decoding: UnsafeRawBufferPointer(rebasing: cur.key[8...]),
                                                               as: UTF8.self)))
                item = try cursor.get(MDB_NEXT)
            }
            return out
        }
    }

    /// The due time of the first due-index entry strictly after `after` (the first entry when
    /// nil), nil when there is none. Any thread.
    public func nextDueTime(after: DuePosition?) throws -> Int64? {
        guard let after else { return try nextDueTime() }
        return try read { txn in
            let cursor = try txn.cursor(dbDue)
            defer { cursor.close() }
            let bound = SpoolKeys.due(after.at, after.queueID)
            var item = try cursor.seek(atLeast: bound)
            if let cur = item, cur.key.elementsEqual(bound) { item = try cursor.get(MDB_NEXT) }
            guard let cur = item else { return nil }
            var r = BinaryReader(cur.key, what: "due key")
            return SpoolKeys.unbiased(try r.u64())
        }
    }
}
