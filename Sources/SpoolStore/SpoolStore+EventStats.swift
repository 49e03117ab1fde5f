import CLMDB

extension SpoolStore {
    /// Adds `event` to the counts (and a delivery to the latency histogram) inside the write
    /// transaction that stores it. `message` gives the source IP and the accept time.
    func recordEventStats(_ event: Event, message: StoredMessage?, in txn: LMDBTransaction) throws {
        let minute = EventStats.floor(event.timestampMillis, 60_000)
        let hour = EventStats.floor(event.timestampMillis, 3_600_000)
        try bump(EventStats.countKey(1, bucket: minute, .all, "", event.type), in: txn)
        try bump(EventStats.countKey(1, bucket: minute, .tenant, event.tenant, event.type), in: txn)
        try bump(EventStats.countKey(2, bucket: hour, .all, "", event.type), in: txn)
        try bump(EventStats.countKey(2, bucket: hour, .tenant, event.tenant, event.type), in: txn)
        if let domain = SpoolKeys.EventIndex.domain(of: event.recipient) {
            try bump(EventStats.countKey(2, bucket: hour, .recipientDomain, domain, event.type), in: txn)
        }
        if let ip = message?.clientIP, !ip.isEmpty {
            try bump(EventStats.countKey(2, bucket: hour, .sourceIP, ip, event.type), in: txn)
        }
        if let pool = event.pool, !pool.isEmpty {
            try bump(EventStats.countKey(2, bucket: hour, .pool, pool, event.type), in: txn)
        }
        if let ip = event.sendingIP, !ip.isEmpty {
            try bump(EventStats.countKey(2, bucket: hour, .sendingIP, ip, event.type), in: txn)
        }
        if event.type == .delivered, let received = message?.receivedAt {
            let latency = max(0, event.timestampMillis - received)
            try bump(EventStats.latencyKey(bucket: hour, index: EventStats.latencyBucket(latency)), in: txn)
        }
    }

    private func bump(_ key: [UInt8], in txn: LMDBTransaction) throws {
        var n: UInt64 = 0
        if let v = try txn.get(dbEventIndex, key), v.count == 8 {
            var r = BinaryReader(v, what: "event count")
            n = try r.u64()
        }
        var w = BinaryWriter(capacity: 8)
        w.u64(n + 1)
        try txn.put(dbEventIndex, key, w.bytes)
    }

    /// Deletes counts and latency buckets that end before `before` (at most `max` keys).
    func pruneEventStats(before: Int64, max: Int, in txn: LMDBTransaction) throws {
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
            var item = try cursor.seek(atLeast: EventStats.countPrefix(stored, bucket: EventStats.floor(from, storedWidth)))
            while let cur = item, cur.key.lexicographicallyPrecedes(end) {
                var r = BinaryReader(cur.key, what: "stats key")
                _ = try r.u8()
                _ = try r.u8()
                let bucket = SpoolKeys.unbiased(try r.u64())
                let dim = try r.u8()
                let len = Int(try r.u16())
                if dim == dimension.code, cur.key.count == 14 + len {
                    let value = String(decoding: cur.key[13..<(13 + len)], as: UTF8.self)
                    let type = cur.key[13 + len]
                    var vr = BinaryReader(cur.value, what: "event count")
                    let n = try vr.u64()
                    let start = EventStats.floor(bucket, resolution.millis)
                    if start >= EventStats.floor(from, resolution.millis), wanted == nil || wanted == value {
                        sums[start, default: [:]][value, default: [:]][type, default: 0] += n
                    }
                }
                item = try cursor.get(MDB_NEXT)
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
            var item = try cursor.seek(atLeast: EventStats.latencyKey(bucket: EventStats.floor(from, 3_600_000), index: 0))
            while let cur = item, cur.key.lexicographicallyPrecedes(end), cur.key.count == 10 {
                var vr = BinaryReader(cur.value, what: "latency count")
                out[Int(cur.key[9]), default: 0] += try vr.u64()
                item = try cursor.get(MDB_NEXT)
            }
            return out
        }
    }
}
