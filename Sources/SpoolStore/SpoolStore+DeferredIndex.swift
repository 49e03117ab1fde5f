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

    /// Writes the secondary index entries of the event stored as `record` (``Event/encoded()``)
    /// under `key`.
    func putIndexEntries(record: [UInt8], key: [UInt8], in txn: LMDBTransaction) throws {
        var keys: [UInt8] = []
        keys.reserveCapacity(record.count + 8 * (3 + 2 + SpoolKeys.eventKeySize))
        try record.withUnsafeBytes { r in try key.withUnsafeBytes { k in try Self.appendIndexKeys(record: r, eventKey: k, to: &keys) } }
        try putIndexKeys(keys, in: txn)
    }

    /// Puts each key of `keys` (`[len u16][key]`…) with an empty value, in order.
    private func putIndexKeys(_ keys: [UInt8], in txn: LMDBTransaction) throws {
        try keys.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let n = Int(all[offset]) << 8 | Int(all[offset + 1])
                try txn.put(dbEventIndex, key: UnsafeRawBufferPointer(rebasing: all[(offset + 2)..<(offset + 2 + n)]),
                            UnsafeRawBufferPointer(start: nil, count: 0))
                offset += 2 + n
            }
        }
    }

    /// Appends, as `[len u16][key]`, the secondary index keys of the event stored as `record`
    /// under `eventKey`, in ``SpoolKeys/EventIndex`` order: the keys `SpoolKeys.indexPrefix(i,
    /// i.field(of: event)) + eventKey` of the decoded event, read from the record's fields in
    /// place (no `Event`, no strings). Throws `.corrupt` where decoding the record throws. Pure.
    static func appendIndexKeys(record: UnsafeRawBufferPointer, eventKey: UnsafeRawBufferPointer,
                                to out: inout [UInt8]) throws {
        var r = BinaryReader(record, what: "event record")
        guard try r.u8() == Event.recordVersion else { throw StoreError.corrupt("event record version") }
        _ = try r.run()  // id
        guard let type = Event.Kind(code: try r.u8()) else { throw StoreError.corrupt("event type") }
        let messageID = try r.run()
        let queueID = try r.run()
        let tenant = try r.run()
        let sender = try r.run()
        let recipient = try r.run()
        _ = try r.i64()
        let present = try r.u8()
        var bounceClass: UnsafeRawBufferPointer? = nil
        if present & 1 != 0 { _ = try r.u32() }
        if present & 2 != 0 { _ = try r.run() }
        if present & 4 != 0 { _ = try r.run() }
        if present & 8 != 0 { _ = try r.run() }
        if present & 16 != 0 { _ = try r.u32() }
        if present & 32 != 0 { bounceClass = try r.run() }
        if present & 64 != 0 { _ = try r.run() }
        if present & 128 != 0 { _ = try r.run() }
        guard r.isAtEnd else { throw StoreError.corrupt("event record (trailing bytes)") }

        func add<C: Collection<UInt8>>(_ index: SpoolKeys.EventIndex, _ field: C) throws {
            let n = 3 + min(field.count, SpoolKeys.maxIndexedField) + eventKey.count
            // The length is written in two bytes: only a damaged feed value (an event key is 20
            // bytes) could overflow it, and a wrapped length would misframe every later key.
            guard n <= Int(UInt16.max) else { throw StoreError.corrupt("event index key of \(n) bytes") }
            out.append(UInt8(truncatingIfNeeded: n >> 8))
            out.append(UInt8(truncatingIfNeeded: n))
            out.append(index.rawValue)
            SpoolKeys.appendField(field, to: &out)
            out.append(contentsOf: eventKey)
        }
        // The order and the nil cases of SpoolKeys.EventIndex.field(of:).
        try add(.recipient, recipient)
        try add(.sender, sender)
        try add(.queueID, queueID)
        try add(.type, type.rawValue.utf8)
        try add(.tenant, tenant)
        if let domain = SpoolKeys.EventIndex.domainBytes(of: recipient) { try add(.recipientDomain, domain) }
        if !messageID.isEmpty { try add(.messageID, messageID) }
        if let bounceClass, !bounceClass.isEmpty { try add(.bounceClass, bounceClass) }
    }

    /// Records that the event whose feed entry is about to be written is not indexed yet. Call
    /// before its feed entry is put (a store without a watermark gets one at the current feed end).
    func deferIndexing(in txn: LMDBTransaction) throws {
        if let v = try txn.get(dbMeta, Self.indexedKey), v.count == 16 {
            // The common case, without building the watermark: its pending count (the last u32) + 1.
            var mark: (UInt64, UInt32, UInt32) = (0, 0, 0)
            try withUnsafeMutableBytes(of: &mark) { m in
                m.copyMemory(from: v)
                let pending = UInt32(bigEndian: m.load(fromByteOffset: 12, as: UInt32.self)) &+ 1
                m.storeBytes(of: pending.bigEndian, toByteOffset: 12, as: UInt32.self)
                try txn.put(dbMeta, Self.indexedKey, UnsafeRawBufferPointer(m))
            }
            return
        }
        var mark = try indexWatermark(in: txn) ?? IndexWatermark(feedKey: try lastFeedKey(in: txn), pending: 0)
        mark.pending &+= 1
        try setIndexWatermark(mark, in: txn)
    }

    /// Indexes the tail when it holds at least `options.eventIndexBatch` events (every event when
    /// `force`). Called at the end of each write transaction. The index keys are built from the
    /// stored records (not decoded events) into one buffer, then put in commit order.
    func indexTailIfDue(in txn: LMDBTransaction, force: Bool = false) throws {
        guard let mark = try indexWatermark(in: txn), mark.pending > 0 else { return }
        guard force || Int(mark.pending) >= max(1, options.eventIndexBatch) else { return }
        var last = mark.feedKey
        var keys: [UInt8] = []
        // A hint only, and bounded: the stored count may be damaged (the walk below reads what is
        // really there and resets it).
        keys.reserveCapacity(min(Int(mark.pending), 4_096) * 8 * 64)
        let cursor = try txn.cursor(dbEventIndex)
        do {  // no writes while the cursor's and the records' borrowed buffers are used
            var item = try cursor.seek(atLeast: mark.feedKey)
            if let cur = item, cur.key.elementsEqual(mark.feedKey) { item = try cursor.get(MDB_NEXT) }
            while let cur = item, cur.key.count == 13, cur.key.first == SpoolKeys.feedTag {
                let key = cur.value
                guard let record = try txn.get(dbEvents, key: key) else {
                    throw StoreError(.corrupt, "event feed points at a missing event", context: "unindexedTail")
                }
                try Self.appendIndexKeys(record: record, eventKey: key, to: &keys)
                last.removeAll(keepingCapacity: true)
                last.append(SpoolKeys.feedTag)
                last.append(contentsOf: key.dropFirst(8))  // SpoolKeys.feed(eventKey:)
                item = try cursor.get(MDB_NEXT)
            }
        } catch {
            cursor.close()
            throw error
        }
        cursor.close()
        try putIndexKeys(keys, in: txn)
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
