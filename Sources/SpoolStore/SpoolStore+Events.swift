import CLMDB

extension SpoolStore {
    /// Events matching `query`, newest first, at most `query.limit`.
    ///
    /// Uses the most selective index available (queue ID, then recipient, then
    /// sender, then type; else the time-ordered event table) and scans it backwards from
    /// `before` (or the newest entry) down to `since`, checking the remaining
    /// filters on each event. Any thread; one read transaction.
    public func events(_ query: EventQuery) throws -> [Event] {
        let limit = min(max(query.limit, 1), 10_000)
        let recipient = query.recipient.map(SpoolMachine.asciiLowercased)
        let sender = query.sender.map(SpoolMachine.asciiLowercased)
        let (dbi, prefix): (MDB_dbi, [UInt8]) =
            if let q = query.queueId { (dbEventIndex, SpoolKeys.indexPrefix(.queueID, q)) }
            else if let r = query.recipient { (dbEventIndex, SpoolKeys.indexPrefix(.recipient, r)) }
            else if let s = query.sender { (dbEventIndex, SpoolKeys.indexPrefix(.sender, s)) }
            else if let t = query.type { (dbEventIndex, SpoolKeys.indexPrefix(.type, t.rawValue)) }
            else { (dbEvents, []) }
        let viaIndex = dbi != dbEvents

        return try read { txn in
            let cursor = try txn.cursor(dbi)
            defer { cursor.close() }
            var upper = prefix
            if let before = query.before {
                var w = BinaryWriter(capacity: 8)
                w.u64(SpoolKeys.biased(before))
                upper += w.bytes
            } else {
                upper += [UInt8](repeating: 0xFF, count: SpoolKeys.eventKeySize)
            }
            // Position on the last key < upper.
            var item = try cursor.seek(atLeast: upper) != nil ? try cursor.get(MDB_PREV) : try cursor.get(MDB_LAST)
            var out: [Event] = []
            while let cur = item, out.count < limit {
                guard cur.key.hasPrefix(prefix), cur.key.count == prefix.count + SpoolKeys.eventKeySize else { break }
                let eventKey = UnsafeRawBufferPointer(rebasing: cur.key[prefix.count...])
                var r = BinaryReader(eventKey, what: "event key")
                let time = SpoolKeys.unbiased(try r.u64())
                if let since = query.since, time < since { break }
                let value: UnsafeRawBufferPointer
                if viaIndex {
                    guard let v = try txn.get(dbEvents, Array(eventKey)) else {
                        throw StoreError(.corrupt, "event index points at a missing event", context: "events")
                    }
                    value = v
                } else {
                    value = cur.value
                }
                let event = try Event(decoding: value)
                if matches(event, query, recipient: recipient, sender: sender) { out.append(event) }
                item = try cursor.get(MDB_PREV)
            }
            return out
        }
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

    private func matches(_ e: Event, _ q: EventQuery, recipient: String?, sender: String?) -> Bool {
        if let t = q.type, e.type != t { return false }
        if let id = q.queueId, e.queueId != id { return false }
        if let recipient, SpoolMachine.asciiLowercased(e.recipient) != recipient { return false }
        if let sender, SpoolMachine.asciiLowercased(e.sender) != sender { return false }
        return true
    }
}
