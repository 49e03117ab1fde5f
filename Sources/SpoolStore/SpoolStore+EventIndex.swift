import CLMDB

extension SpoolStore {
    /// Most index positions one search visits before it returns what it has with a cursor, so a
    /// query whose filters rarely coincide answers quickly and is continued page by page.
    static let searchStepBudget = 20_000

    /// Events matching every filter of `query`, newest first, at most `query.limit`, and the cursor
    /// for the next page.
    ///
    /// Each indexed filter (recipient, sender, recipient domain, tenant, message ID, queue ID,
    /// type, bounce class) names one run of the secondary index, sorted by event key (time, log
    /// index, ordinal). The runs are intersected by a zig-zag walk downwards: the newest candidate
    /// of one run is looked up in the next (`MDB_SET_RANGE` + `MDB_PREV`), and a run with nothing
    /// at the candidate lowers it to its own next older entry, until all runs agree. So the cost
    /// grows with the page size and with how often the filters disagree, not with the number of
    /// stored events. Without indexed filters the time-ordered event table is walked. `since`,
    /// `before` and the cursor bound the walk. Each match is read and checked against the full
    /// (untruncated) values. When ``searchStepBudget`` positions were visited the page may be
    /// short, with a cursor to continue. Throws `.invalidCommand` for a malformed cursor. Any
    /// thread; one read transaction.
    public func searchEvents(_ query: EventQuery) throws -> EventPage {
        let limit = min(max(query.limit, 1), 10_000)
        var runs: [[UInt8]] = []
        func add(_ index: SpoolKeys.EventIndex, _ value: String?) {
            if let value { runs.append(SpoolKeys.indexPrefix(index, value)) }
        }
        add(.queueID, query.queueId)
        add(.messageID, query.messageId)
        add(.recipient, query.recipient)
        add(.sender, query.sender)
        add(.tenant, query.tenant)
        add(.recipientDomain, query.recipientDomain)
        add(.bounceClass, query.bounceClass)
        add(.type, query.type?.rawValue)
        let dbi = runs.isEmpty ? dbEvents : dbEventIndex
        if runs.isEmpty { runs = [[]] }

        // Exclusive upper bound on event keys.
        var upper: [UInt8]? = nil
        if let before = query.before {
            var w = BinaryWriter(capacity: SpoolKeys.eventKeySize)
            w.u64(SpoolKeys.biased(before))
            w.raw([UInt8](repeating: 0, count: SpoolKeys.eventKeySize - 8))
            upper = w.bytes
        }
        if let c = query.cursor {
            let key = try Self.decodeCursor(c)
            if upper == nil || key.lexicographicallyPrecedes(upper!) { upper = key }
        }
        let check = Normalized(query)

        let usesIndex = dbi == dbEventIndex
        return try read { txn in
            let cursors = try runs.map { _ in try txn.cursor(dbi) }
            defer { cursors.forEach { $0.close() } }
            var out: [([UInt8], Event)] = []
            var steps = 0
            var target = upper
            var inclusive = false
            /// Where this page of the index walk stopped: the next page continues below it.
            var stop: [UInt8]? = nil
            search: while out.count < limit {
                guard var k = try Self.atMost(cursors[0], prefix: runs[0], key: target, inclusive: inclusive) else { break }
                steps += 1
                var agreed = 1
                var i = 1 % runs.count
                while agreed < runs.count {
                    if steps >= Self.searchStepBudget {
                        stop = Self.successor(k)
                        break search
                    }
                    guard let other = try Self.atMost(cursors[i], prefix: runs[i], key: k, inclusive: true) else {
                        break search
                    }
                    steps += 1
                    if other == k { agreed += 1 } else { k = other; agreed = 1 }
                    if let since = query.since, Self.time(ofEventKey: k) < since { break search }
                    i = (i + 1) % runs.count
                }
                if let since = query.since, Self.time(ofEventKey: k) < since { break }
                target = k
                inclusive = false
                guard let value = try txn.get(dbEvents, k) else {
                    throw StoreError(.corrupt, "event index points at a missing event", context: "searchEvents")
                }
                let event = try Event(decoding: value)
                if check.matches(event) { out.append((k, event)) }
                if steps >= Self.searchStepBudget, out.count < limit {
                    stop = k
                    break
                }
            }
            if stop == nil, out.count == limit, let target { stop = target }
            guard usesIndex else {
                return EventPage(events: out.map(\.1), cursor: stop.map(Self.encodeCursor))
            }
            // Events not indexed yet (the deferred tail) are matched directly, within the same bounds:
            // below the caller's bound, and at or above where this page of the walk stopped.
            var tail = try unindexedTail(in: txn).filter { key, event in
                (upper.map { key.lexicographicallyPrecedes($0) } ?? true)
                    && (stop.map { !key.lexicographicallyPrecedes($0) } ?? true) && check.matches(event)
            }
            guard !tail.isEmpty else {
                return EventPage(events: out.map(\.1), cursor: stop.map(Self.encodeCursor))
            }
            tail.append(contentsOf: out)
            tail.sort { $1.0.lexicographicallyPrecedes($0.0) }
            if tail.count >= limit {
                let page = tail.prefix(limit)
                return EventPage(events: page.map(\.1), cursor: Self.encodeCursor(page.last!.0))
            }
            return EventPage(events: tail.map(\.1), cursor: stop.map(Self.encodeCursor))
        }
    }

    /// The newest event key in the run `prefix` that is ≤ `key` (< when not `inclusive`; the
    /// newest of the run when `key` is nil).
    private static func atMost(_ cursor: LMDBCursor, prefix: [UInt8], key: [UInt8]?, inclusive: Bool) throws -> [UInt8]? {
        let item: (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)?
        if let key {
            let full = prefix + key
            if let found = try cursor.seek(atLeast: full) {
                if inclusive, found.key.count == full.count, found.key.elementsEqual(full) { return key }
                item = try cursor.get(MDB_PREV)
            } else {
                item = try cursor.get(MDB_LAST)
            }
        } else {
            var past = prefix
            past.append(contentsOf: [UInt8](repeating: 0xFF, count: SpoolKeys.eventKeySize + 1))
            item = try cursor.seek(atLeast: past) != nil ? try cursor.get(MDB_PREV) : try cursor.get(MDB_LAST)
        }
        guard let cur = item, cur.key.count == prefix.count + SpoolKeys.eventKeySize, cur.key.hasPrefix(prefix) else {
            return nil
        }
        return Array(cur.key[prefix.count...])
    }

    static func time(ofEventKey key: [UInt8]) -> Int64 {
        var v: UInt64 = 0
        for b in key.prefix(8) { v = v << 8 | UInt64(b) }
        return SpoolKeys.unbiased(v)
    }

    /// The smallest key greater than `key` of the same length (all 0xFF stays).
    static func successor(_ key: [UInt8]) -> [UInt8] {
        var k = key
        var i = k.count - 1
        while i >= 0 {
            if k[i] < 0xFF { k[i] += 1; return k }
            k[i] = 0
            i -= 1
        }
        return key
    }

    static func encodeCursor(_ key: [UInt8]) -> String {
        let hex: [Character] = Array("0123456789abcdef")
        var s = "e"
        for b in key { s.append(hex[Int(b >> 4)]); s.append(hex[Int(b & 15)]) }
        return s
    }

    static func decodeCursor(_ text: String) throws -> [UInt8] {
        let u = Array(text.utf8)
        guard u.count == 1 + 2 * SpoolKeys.eventKeySize, u[0] == UInt8(ascii: "e") else {
            throw StoreError(.invalidCommand, "malformed cursor", context: String(text.prefix(64)))
        }
        func nibble(_ c: UInt8) throws -> UInt8 {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            default: throw StoreError(.invalidCommand, "malformed cursor", context: String(text.prefix(64)))
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(SpoolKeys.eventKeySize)
        var i = 1
        while i < u.count {
            out.append(try nibble(u[i]) << 4 | nibble(u[i + 1]))
            i += 2
        }
        return out
    }

    /// The query's filters in the form events are compared with (index keys are lowercased and
    /// truncated, so every match is checked against the full values).
    private struct Normalized {
        let q: EventQuery
        let recipient, sender, tenant, domain, bounceClass: String?

        init(_ q: EventQuery) {
            self.q = q
            recipient = q.recipient.map(SpoolMachine.asciiLowercased)
            sender = q.sender.map(SpoolMachine.asciiLowercased)
            tenant = q.tenant.map(SpoolMachine.asciiLowercased)
            domain = q.recipientDomain.map(SpoolMachine.asciiLowercased)
            bounceClass = q.bounceClass.map(SpoolMachine.asciiLowercased)
        }

        func matches(_ e: Event) -> Bool {
            if let t = q.type, e.type != t { return false }
            if let id = q.queueId, e.queueId != id { return false }
            if let id = q.messageId, e.messageId != id { return false }
            if let recipient, SpoolMachine.asciiLowercased(e.recipient) != recipient { return false }
            if let sender, SpoolMachine.asciiLowercased(e.sender) != sender { return false }
            if let tenant, SpoolMachine.asciiLowercased(e.tenant) != tenant { return false }
            if let domain {
                guard let d = SpoolKeys.EventIndex.domain(of: e.recipient), SpoolMachine.asciiLowercased(d) == domain
                else { return false }
            }
            if let bounceClass, SpoolMachine.asciiLowercased(e.bounceClass ?? "") != bounceClass { return false }
            if let since = q.since, e.timestampMillis < since { return false }
            return true
        }
    }
}

extension SpoolStore {
    /// Deletes `tenant`'s oldest events before `before` (at most `max`), found through the tenant
    /// index and the not yet indexed tail (events stored before that index existed are left to the
    /// global retention).
    func pruneTenantEvents(_ tenant: String, before: Int64, max: Int, in txn: LMDBTransaction) throws {
        let prefix = SpoolKeys.indexPrefix(.tenant, tenant)
        var victims: [([UInt8], Event)] = []
        let cursor = try txn.cursor(dbEventIndex)
        var item = try cursor.seek(atLeast: prefix)
        while let cur = item, victims.count < max, cur.key.hasPrefix(prefix),
              cur.key.count == prefix.count + SpoolKeys.eventKeySize {
            let key = Array(cur.key[prefix.count...])
            guard Self.time(ofEventKey: key) < before else { break }
            if let v = try txn.get(dbEvents, key) {
                let event = try Event(decoding: v)
                if event.tenant == tenant || SpoolMachine.asciiLowercased(event.tenant) == SpoolMachine.asciiLowercased(tenant) {
                    victims.append((key, event))
                }
            }
            item = try cursor.get(MDB_NEXT)
        }
        cursor.close()
        // Events not indexed yet are not in the tenant index: match them directly.
        for (key, event) in try unindexedTail(in: txn) where victims.count < max {
            guard Self.time(ofEventKey: key) < before,
                  SpoolMachine.asciiLowercased(event.tenant) == SpoolMachine.asciiLowercased(tenant) else { continue }
            victims.append((key, event))
        }
        try deleteEvents(victims, in: txn)
    }
}

extension SpoolStore {
    /// The ID of the most recently committed event still stored (where a follower starts), nil
    /// when there is none. Any thread.
    public func latestEventID() throws -> String? {
        try read { txn in
            let cursor = try txn.cursor(dbEventIndex)
            defer { cursor.close() }
            let item = try cursor.seek(atLeast: [SpoolKeys.feedTag + 1]) != nil ? try cursor.get(MDB_PREV) : try cursor.get(MDB_LAST)
            guard let cur = item, cur.key.count == 13, cur.key[0] == SpoolKeys.feedTag else { return nil }
            var r = BinaryReader(UnsafeRawBufferPointer(rebasing: cur.key[1...]), what: "feed key")
            return "\(try r.u64())-\(try r.u32())"
        }
    }
}

extension SpoolStore {
    /// Stores `events` with their index entries and counts in one write transaction, as if each
    /// were the only event of log entry `firstIndex + i` (IDs `<index>-0`). For benchmarks that
    /// need millions of events without running the log: call only while no ``LocalLog`` or Raft
    /// applier writes this store, from one thread. Blocks (disk writes; fsync when durable).
    public func importEvents(_ events: [Event], firstIndex: UInt64) throws {
        try withOpenEnv {
            var txnp: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, 0, &txnp)
            guard rc == 0, let txnPtr = txnp else { throw StoreError.lmdb(rc, "mdb_txn_begin (import)") }
            let txn = LMDBTransaction(txn: txnPtr)
            webhookTally.discardStaged()
            do {
                // Indexed at once (no tail to scan in searches); the tail of earlier commits first.
                try indexTailIfDue(in: txn, force: true)
                var last: [UInt8]? = nil
                for (i, e) in events.enumerated() {
                    var event = e
                    event.id = "\(firstIndex + UInt64(i))-0"
                    let key = try storeEvent(event, index: firstIndex + UInt64(i), ordinal: 0, deferIndex: false, in: txn)
                    last = SpoolKeys.feed(eventKey: key)
                }
                if var mark = try indexWatermark(in: txn), let last, mark.feedKey.lexicographicallyPrecedes(last) {
                    mark.feedKey = last
                    try setIndexWatermark(mark, in: txn)
                }
                try persistWebhookTally(in: txn)
            } catch {
                mdb_txn_abort(txnPtr)
                webhookTally.discardStaged()
                throw error
            }
            let crc = mdb_txn_commit(txnPtr)
            guard crc == 0 else {
                webhookTally.discardStaged()
                throw StoreError.lmdb(crc, "mdb_txn_commit (import)")
            }
            webhookTally.commitStaged()  // the webhook calls of imported events count like any
        }
    }
}
