import CLMDB

/// Deferred (batched) event indexing.
///
/// Storing an event writes the event, its commit-order feed entry and its counts at once, but
/// not its secondary search-index entries (recipient, sender, queue ID, …): those keys land all
/// over the index B-tree, so writing them in every commit made LMDB copy many index pages per
/// commit (about 40 % of the pages a small commit wrote). Instead the feed entries after the
/// *index watermark* (meta key `indexed`: the feed position up to which every event is indexed,
/// and the number of events stored since) form the unindexed tail. When the tail holds
/// ``SpoolStore/Options/eventIndexBatch`` events, the commit that crosses it indexes the whole
/// tail and moves the watermark, so each index page is copied once per batch instead of once
/// per commit.
///
/// Invariants: feed entries at or before the watermark are indexed, entries after it are not.
/// The watermark moves in the same transaction as the index entries it covers, so a crash
/// leaves either both or neither; after a restart the tail is simply indexed by a later commit.
/// Searches read the tail in the same read transaction as the index (``unindexedTail(in:)``),
/// so an event is findable as soon as its commit is. A store without the meta key (new, or
/// written before deferral) has no tail: the key is created at the first deferred event.
extension SpoolStore {
    /// Meta key of the index watermark: `[feed key after the tag: log index u64, ordinal u32][pending u32]`.
    static let indexedKey: [UInt8] = Array("indexed".utf8)

    /// The index watermark and the number of events stored after it (nil: no tail exists).
    struct IndexWatermark {
        /// Feed key (with tag) of the last indexed event; `[tag] + zeros` when none.
        var feedKey: [UInt8]
        var pending: UInt32
    }

    func indexWatermark(in txn: LMDBTransaction) throws -> IndexWatermark? {
        guard let v = try txn.get(dbMeta, Self.indexedKey), v.count == 16 else { return nil }
        var r = BinaryReader(v, what: "index watermark")
        var w = BinaryWriter(capacity: 13)
        w.u8(SpoolKeys.feedTag)
        w.u64(try r.u64())
        w.u32(try r.u32())
        return IndexWatermark(feedKey: w.bytes, pending: try r.u32())
    }

    func setIndexWatermark(_ mark: IndexWatermark, in txn: LMDBTransaction) throws {
        var w = BinaryWriter(capacity: 16)
        w.raw(mark.feedKey[1...])
        w.u32(mark.pending)
        try txn.put(dbMeta, Self.indexedKey, w.bytes)
    }

    /// The last feed key stored (with tag), or the tag and zeros when there is none.
    private func lastFeedKey(in txn: LMDBTransaction) throws -> [UInt8] {
        let cursor = try txn.cursor(dbEventIndex)
        defer { cursor.close() }
        let item = try cursor.seek(atLeast: [SpoolKeys.feedTag + 1]) != nil ? try cursor.get(MDB_PREV) : try cursor.get(MDB_LAST)
        if let cur = item, cur.key.count == 13, cur.key[0] == SpoolKeys.feedTag { return Array(cur.key) }
        return [SpoolKeys.feedTag] + [UInt8](repeating: 0, count: 12)
    }

    /// Writes the secondary index entries of the event stored under `key`.
    func putIndexEntries(_ event: Event, key: [UInt8], in txn: LMDBTransaction) throws {
        let empty = [UInt8]()
        for i in SpoolKeys.EventIndex.allCases {
            guard let field = i.field(of: event) else { continue }
            try txn.put(dbEventIndex, SpoolKeys.indexPrefix(i, field) + key, empty)
        }
    }

    /// Records that the event whose feed entry is about to be written is not indexed yet. Call
    /// before its feed entry is put (a store without a watermark gets one at the current feed end).
    func deferIndexing(in txn: LMDBTransaction) throws {
        var mark = try indexWatermark(in: txn) ?? IndexWatermark(feedKey: try lastFeedKey(in: txn), pending: 0)
        mark.pending &+= 1
        try setIndexWatermark(mark, in: txn)
    }

    /// Indexes the tail when it holds at least `options.eventIndexBatch` events (every event when
    /// `force`). Called at the end of each write transaction.
    func indexTailIfDue(in txn: LMDBTransaction, force: Bool = false) throws {
        guard let mark = try indexWatermark(in: txn), mark.pending > 0 else { return }
        guard force || Int(mark.pending) >= max(1, options.eventIndexBatch) else { return }
        var last = mark.feedKey
        for (key, event) in try unindexedTail(in: txn, after: mark.feedKey) {
            try putIndexEntries(event, key: key, in: txn)
            last = SpoolKeys.feed(eventKey: key)
        }
        try setIndexWatermark(IndexWatermark(feedKey: last, pending: 0), in: txn)
        try flushPendingStats(in: txn)  // the counts' batch rides along (SpoolStore+PendingStats.swift)
    }

    /// The stored events not yet indexed (event key, event), in commit order. Any transaction.
    func unindexedTail(in txn: LMDBTransaction) throws -> [([UInt8], Event)] {
        guard let mark = try indexWatermark(in: txn), mark.pending > 0 else { return [] }
        return try unindexedTail(in: txn, after: mark.feedKey)
    }

    private func unindexedTail(in txn: LMDBTransaction, after feedKey: [UInt8]) throws -> [([UInt8], Event)] {
        let cursor = try txn.cursor(dbEventIndex)
        var out: [([UInt8], Event)] = []
        var item = try cursor.seek(atLeast: feedKey)
        if let cur = item, cur.key.elementsEqual(feedKey) { item = try cursor.get(MDB_NEXT) }
        while let cur = item, cur.key.count == 13, cur.key.first == SpoolKeys.feedTag {
            let key = Array(cur.value)
            guard let v = try txn.get(dbEvents, key) else {
                cursor.close()
                throw StoreError(.corrupt, "event feed points at a missing event", context: "unindexedTail")
            }
            out.append((key, try Event(decoding: v)))
            item = try cursor.get(MDB_NEXT)
        }
        cursor.close()
        return out
    }
}

extension SpoolStore {
    /// Events not yet in the search index (waiting for the next batch), for diagnostics and tests.
    /// Any thread; one read transaction.
    public func unindexedEventCount() throws -> Int {
        try read { txn in try unindexedTail(in: txn).count }
    }
}
