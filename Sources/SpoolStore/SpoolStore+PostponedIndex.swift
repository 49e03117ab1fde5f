import CLMDB

/// The postponed table (table 11, `postponed`): each message a batched postpone moved later
/// (`SpoolCommand.postpone`) under `[hash of its destination][due time][queue ID]`, so the recovery
/// pull of a destination that came back reads that destination's postponed mail in due order and
/// nothing else (the due index holds every destination's, in one time order).
///
/// Written in the same write transactions as the due index: an entry is put when a postpone
/// moves a message, and deleted when the message's record changes so that its key (due time and
/// destination, see `postponedKey`) is another, and when it leaves the queue. A message's
/// destinations here are the domains of its pending recipients due at its due time: a message with
/// recipients at several domains is listed under each of them, so each one's pull finds it. Entries are verified against the record when read (a reader may see a
/// record that changed after its key was written elsewhere, never an entry without its record
/// within one transaction).
///
/// Stores written before the table existed: their postponed mail has no entries. When the table is
/// created in a store that already queues mail, the latest due time then queued is recorded (meta
/// key `postponedLegacy`, `legacyPostponedUntil`): mail due up to it may be postponed without an
/// entry, so a pull walks the due index up to that time and the table after it.
extension SpoolStore {
    /// Meta key of the legacy horizon: `[due time, biased u64]`.
    static let postponedLegacyKey: [UInt8] = Array("postponedLegacy".utf8)

    /// At open: records the legacy horizon when the postponed table was just `created` in a store
    /// whose due index holds entries, and returns the recorded horizon (nil when none).
    static func legacyPostponedHorizon(_ txn: LMDBTransaction, meta: MDB_dbi, due: MDB_dbi, created: Bool) throws -> Int64? {
        if created {
            let cursor = try txn.cursor(due)
            let last = try cursor.get(MDB_LAST).map { cur -> UInt64 in
                var r = BinaryReader(cur.key, what: "due key")
                return (try? r.u64()) ?? 0
            }
            cursor.close()
            guard let last else { return nil }
            var w = BinaryWriter(capacity: 8)
            w.u64(last)
            try txn.put(meta, postponedLegacyKey, w.bytes)
            return SpoolKeys.unbiased(last)
        }
        guard let v = try txn.get(meta, postponedLegacyKey) else { return nil }
        var r = BinaryReader(v, what: "postponed legacy horizon")
        return SpoolKeys.unbiased(try r.u64())
    }

    /// The postponed-table keys `m` is (or would be) listed under: for each distinct domain of its
    /// pending recipients due at its due time, that domain's hash, the due time and the queue ID;
    /// empty for a leased message or one with nothing pending. Derived from the record alone, so
    /// every replica lists the same keys. Pure.
    static func postponedKeys(of m: StoredMessage?) -> Set<[UInt8]> {
        guard let m, m.lease == nil, let due = m.nextAttemptAt else { return [] }
        var keys = Set<[UInt8]>()
        for r in m.recipients where !r.status.isFinal && r.nextAttemptAt == due {
            guard let at = r.address.utf8.lastIndex(of: UInt8(ascii: "@")) else { continue }
            let domain = r.address[r.address.utf8.index(after: at)...]
            keys.insert(SpoolKeys.postponed(destination: SpoolKeys.destinationHash(String(domain)), due, m.queueID))
        }
        return keys
    }

    /// The record of a message changes from `old` to `new` (nil: gone) other than by a postpone:
    /// its postponed entries whose keys the new record does not keep are deleted. Nothing to do
    /// (and no keys built) while the table is empty, as it is unless a destination was postponed:
    /// this runs for every claim, delivery and retry.
    func unlistPostponed(old: StoredMessage?, new: StoredMessage?, in txn: LMDBTransaction) throws {
        guard try txn.entries(dbPostponed) > 0 else { return }
        let before = Self.postponedKeys(of: old)
        guard !before.isEmpty else { return }
        for key in before.subtracting(Self.postponedKeys(of: new)) { _ = try txn.delete(dbPostponed, key) }
    }

    /// A postpone moved `old` to `new`: its entries move with it.
    func listPostponed(old: StoredMessage, new: StoredMessage, in txn: LMDBTransaction) throws {
        try unlistPostponed(old: old, new: new, in: txn)
        for key in Self.postponedKeys(of: new) { try txn.put(dbPostponed, key, [UInt8]()) }
    }

    /// The postponed entries of `destination` strictly after `after` (from its first when nil) and
    /// due at or before `through`, earliest first, at most `limit`: the recovery pull's reads. One
    /// read transaction; reads no other destination's entries. Any thread.
    public func postponedEntries(destination: String, after: DuePosition?, through: Int64 = .max,
                                 limit: Int) throws -> [DuePosition] {
        guard limit > 0 else { return [] }
        let hash = SpoolKeys.destinationHash(destination)
        var prefix = BinaryWriter(capacity: 8)
        prefix.u64(hash)
        return try read { txn in
            let cursor = try txn.cursor(dbPostponed)
            defer { cursor.close() }
            let bound = after.map { SpoolKeys.postponed(destination: hash, $0.at, $0.queueID) } ?? prefix.bytes
            var item = try cursor.seek(atLeast: bound)
            if let cur = item, cur.key.elementsEqual(bound) { item = try cursor.get(MDB_NEXT) }
            var out: [DuePosition] = []
            while let cur = item, out.count < limit, cur.key.count > 16, cur.key.prefix(8).elementsEqual(prefix.bytes) {
                var r = BinaryReader(UnsafeRawBufferPointer(rebasing: cur.key[8..<16]), what: "postponed key")
                let at = SpoolKeys.unbiased(try r.u64())
                guard at <= through else { break }
                out.append(DuePosition(at: at, queueID: String(decoding: UnsafeRawBufferPointer(rebasing: cur.key[16...]),
                                                               as: UTF8.self)))
                item = try cursor.get(MDB_NEXT)
            }
            return out
        }
    }
}
