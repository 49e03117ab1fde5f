import CLMDB

extension SpoolStore {
    /// Adds `event` to the counts (and a delivery to the latency histogram) inside the write
    /// transaction that stores it: as pending deltas by default (`SpoolStore+PendingStats.swift`).
    /// `message` gives the source IP and the accept time.
    func recordEventStats(_ event: Event, message: StoredMessage?, in txn: LMDBTransaction) throws {
        let minute = EventStats.floor(event.timestampMillis, 60_000)
        let hour = EventStats.floor(event.timestampMillis, 3_600_000)
        let type = event.type
        let tenant = event.tenant.utf8
        // The counts in one buffer, in the pending-value format `addCounts` merges (SpoolStore+PendingStats.swift).
        var counts: [UInt8] = []
        counts.reserveCapacity(9 * 32 + 2 * tenant.count + event.recipient.utf8.count)
        let none = EmptyCollection<UInt8>()
        Self.appendCount(1, bucket: minute, .all, none, type, to: &counts)
        Self.appendCount(1, bucket: minute, .tenant, tenant, type, to: &counts)
        Self.appendCount(2, bucket: hour, .all, none, type, to: &counts)
        Self.appendCount(2, bucket: hour, .tenant, tenant, type, to: &counts)
        if let domain = SpoolKeys.EventIndex.domainUTF8(of: event.recipient) {
            Self.appendCount(2, bucket: hour, .recipientDomain, domain, type, to: &counts)
        }
        if let ip = message?.clientIP, !ip.isEmpty {
            Self.appendCount(2, bucket: hour, .sourceIP, ip.utf8, type, to: &counts)
        }
        if let pool = event.pool, !pool.isEmpty {
            Self.appendCount(2, bucket: hour, .pool, pool.utf8, type, to: &counts)
        }
        if let ip = event.sendingIP, !ip.isEmpty {
            Self.appendCount(2, bucket: hour, .sendingIP, ip.utf8, type, to: &counts)
        }
        if event.type == .delivered, let received = message?.receivedAt {
            let latency = max(0, event.timestampMillis - received)
            Self.appendLatencyCount(bucket: hour, index: EventStats.latencyBucket(latency), to: &counts)
        }
        try addCounts(counts, in: txn)  // SpoolStore+PendingStats.swift
    }

    /// Deletes counts and latency buckets that end before `before` (at most `max` keys).
    func pruneEventStats(before: Int64, max: Int, in txn: LMDBTransaction) throws {
        try flushPendingStats(in: txn)  // a delta flushed later would bring a pruned bucket back
        var victims: [[UInt8]] = []
        let cursor = try txn.cursor(dbEventIndex)
        for (start, timeOffset) in [([EventStats.countTag, 1], 2), ([EventStats.countTag, 2], 2), ([EventStats.latencyTag], 1)] {
            var item = try cursor.seek(atLeast: start)
            while let cur = item, victims.count < max, cur.key.hasPrefix(start), cur.key.count >= timeOffset + 8 {
                var r = BinaryReader(UnsafeRawBufferPointer(rebasing: cur.key[timeOffset...]), what: "stats key")
                let bucket = SpoolKeys.unbiased(try r.u64())
                let width: Int64 = start.count == 2 && start[1] == 1 ? 60_000 : 3_600_000
                guard bucket + width <= before else { break }
                victims.append(Array(cur.key))
                item = try cursor.get(MDB_NEXT)
            }
        }
        cursor.close()
        for k in victims { try txn.delete(dbEventIndex, k) }
    }

    /// Event counts per `resolution` bucket, type and `dimension` value, for buckets starting in
    /// `from..<to` (ms), oldest bucket first. Minute buckets exist for `.all` and `.tenant` only
    /// (others throw `.invalidCommand`); days are summed from hours (UTC). `key` restricts the
    /// rows to one dimension value (case-insensitive). Any thread; one read transaction.
    public func eventCounts(from: Int64, to: Int64, resolution: EventStats.Resolution,
                            dimension: EventStats.Dimension, key: String? = nil) throws -> [EventStats.Row] {
        if resolution == .minute, !dimension.hasMinutes {
            throw StoreError(.invalidCommand, "per-minute counts exist for all events and per tenant",
                             context: dimension.rawValue)
        }
        let stored = resolution.stored
        let storedWidth: Int64 = stored == 1 ? 60_000 : 3_600_000
        let wanted = key.map(SpoolMachine.asciiLowercased)
        return try read { txn in
            let cursor = try txn.cursor(dbEventIndex)
            defer { cursor.close() }
            var sums: [Int64: [String: [UInt8: UInt64]]] = [:]
            let end = EventStats.countPrefix(stored, bucket: to)
            let first = EventStats.countPrefix(stored, bucket: EventStats.floor(from, storedWidth))
            func add(_ key: UnsafeRawBufferPointer, _ n: UInt64) throws {
                var r = BinaryReader(key, what: "stats key")
                _ = try r.u8()
                _ = try r.u8()
                let bucket = SpoolKeys.unbiased(try r.u64())
                let dim = try r.u8()
                let len = Int(try r.u16())
                if dim == dimension.code, key.count == 14 + len {
                    let value = String(decoding: key[13..<(13 + len)], as: UTF8.self)
                    let type = key[13 + len]
                    let start = EventStats.floor(bucket, resolution.millis)
                    if start >= EventStats.floor(from, resolution.millis), wanted == nil || wanted == value {
                        sums[start, default: [:]][value, default: [:]][type, default: 0] += n
                    }
                }
            }
            var item = try cursor.seek(atLeast: first)
            while let cur = item, cur.key.lexicographicallyPrecedes(end) {
                var vr = BinaryReader(cur.value, what: "event count")
                try add(cur.key, try vr.u64())
                item = try cursor.get(MDB_NEXT)
            }
            for (key, delta) in try pendingStats(in: txn)
            where !key.lexicographicallyPrecedes(first) && key.lexicographicallyPrecedes(end) {
                try key.withUnsafeBytes { try add($0, delta) }
            }
            var rows: [EventStats.Row] = []
            for start in sums.keys.sorted() {
                for (value, types) in sums[start]!.sorted(by: { $0.key < $1.key }) {
                    for (code, n) in types.sorted(by: { $0.key < $1.key }) {
                        guard let kind = Event.Kind(code: code) else { continue }
                        rows.append(EventStats.Row(bucketStart: start, key: value, type: kind, count: n))
                    }
                }
            }
            return rows
        }
    }

    /// Delivery latency (accept → delivered) bucket counts for hours starting in `from..<to`:
    /// bucket index (see ``EventStats/latencyBoundsMillis``) → deliveries. Any thread.
    public func deliveryLatencyBuckets(from: Int64, to: Int64) throws -> [Int: UInt64] {
        try read { txn in
            let cursor = try txn.cursor(dbEventIndex)
            defer { cursor.close() }
            var out: [Int: UInt64] = [:]
            var w = BinaryWriter(capacity: 9)
            w.u8(EventStats.latencyTag)
            w.u64(SpoolKeys.biased(to))
            let end = w.bytes
            let first = EventStats.latencyKey(bucket: EventStats.floor(from, 3_600_000), index: 0)
            var item = try cursor.seek(atLeast: first)
            while let cur = item, cur.key.lexicographicallyPrecedes(end), cur.key.count == 10 {
                var vr = BinaryReader(cur.value, what: "latency count")
                out[Int(cur.key[9]), default: 0] += try vr.u64()
                item = try cursor.get(MDB_NEXT)
            }
            for (key, delta) in try pendingStats(in: txn)
            where key.count == 10 && !key.lexicographicallyPrecedes(first) && key.lexicographicallyPrecedes(end) {
                out[Int(key[9]), default: 0] += delta
            }
            return out
        }
    }
}
