import CLMDB

/// Bodies written once in a cluster: a message enqueued through the raft log can keep its body
/// inside the committed log entry instead of a copy in the `bodies` table.
///
/// Table `logbodies` holds two kinds of records, written and deleted in the same transaction as
/// the message record:
/// - `q | queueID` → `index u64 | offset u32 | length u32`: the message's body is `length` bytes at
///   `offset` of the data of raft entry `index`;
/// - `i | index u64` → `queueID`: the pin of entry `index` (log compaction keeps pinned entries).
///
/// A message has either a reference or body chunks (stores written before, snapshots and
/// messages applied with the switch off have chunks): readers check the reference first.
extension SpoolStore {
    /// Where a message's body lies in the raft log.
    public struct LogBodyRef: Equatable, Sendable {
        /// Index of the raft entry holding the enqueue command.
        public var index: UInt64
        /// Offset of the body in the entry's data.
        public var offset: Int
        /// Body length in bytes.
        public var length: Int
    }

    /// Sets (or clears) the reader of bodies kept in the raft log. Any thread.
    public func setLogBodySource(_ source: (any LogBodySource)?) {
        logBodySource.withLock { $0 = source }
    }

    static func logBodyKey(_ queueID: String) -> [UInt8] { [UInt8(ascii: "q")] + Array(queueID.utf8) }

    static func logPinKey(_ index: UInt64) -> [UInt8] {
        var w = BinaryWriter(capacity: 9)
        w.u8(UInt8(ascii: "i"))
        w.u64(index)
        return w.bytes
    }

    /// Records that `queueID`'s body is `length` bytes at `offset` of entry `index`, and pins it.
    func putLogBodyRef(_ queueID: String, index: UInt64, offset: Int, length: Int, in txn: LMDBTransaction) throws {
        var w = BinaryWriter(capacity: 16)
        w.u64(index)
        w.u32(UInt32(offset))
        w.u32(UInt32(length))
        try txn.put(dbLogBodies, Self.logBodyKey(queueID), w.bytes)
        try txn.put(dbLogBodies, Self.logPinKey(index), Array(queueID.utf8))
    }

    /// Deletes `queueID`'s reference and pin; false when it has none (its body is in chunks).
    func deleteLogBodyRef(_ queueID: String, in txn: LMDBTransaction) throws -> Bool {
        guard let ref = try logBodyRef(queueID, in: txn) else { return false }
        _ = try txn.delete(dbLogBodies, Self.logBodyKey(queueID))
        _ = try txn.delete(dbLogBodies, Self.logPinKey(ref.index))
        return true
    }

    /// `queueID`'s reference, or nil when its body is stored in chunks.
    func logBodyRef(_ queueID: String, in txn: LMDBTransaction) throws -> LogBodyRef? {
        guard let v = try txn.get(dbLogBodies, Self.logBodyKey(queueID)) else { return nil }
        var r = BinaryReader(v, what: "log body reference")
        return LogBodyRef(index: try r.u64(), offset: Int(try r.u32()), length: Int(try r.u32()))
    }

    /// Streams a body kept in the raft log to `chunk` (one call, borrowed bytes).
    func readLogBody(_ ref: LogBodyRef, queueID: String, _ chunk: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        guard let source = logBodySource.withLock({ $0 }) else {
            throw StoreError(.unavailable, "body kept in raft entry \(ref.index) and the raft log is not open",
                             context: queueID)
        }
        let found: Void? = try source.withEntryBytes(index: ref.index, offset: ref.offset, length: ref.length) {
            try chunk($0)
        }
        guard found != nil else {
            throw StoreError(.corrupt, "body missing from raft entry \(ref.index)", context: queueID)
        }
        return true
    }

    /// The reference of a queued message's body when it is kept in the raft log (tests,
    /// diagnostics). Any thread.
    public func logBodyRef(id: String) throws -> LogBodyRef? {
        guard SpoolKeys.isValidQueueID(id) else { return nil }
        return try read { txn in try logBodyRef(id, in: txn) }
    }

    /// The pinned raft entries (bodies of queued messages) among `indexes`, ascending or not; one
    /// read transaction. Any thread.
    public func logBodyPins(among indexes: some Sequence<UInt64>) throws -> Set<UInt64> {
        try read { txn in
            var out = Set<UInt64>()
            for i in indexes where try txn.get(dbLogBodies, Self.logPinKey(i)) != nil { out.insert(i) }
            return out
        }
    }

    /// The pinned raft entries with index in `range`, ascending; one read transaction. Any thread.
    public func logBodyPins(in range: ClosedRange<UInt64>) throws -> [UInt64] {
        try read { txn in
            let cursor = try txn.cursor(dbLogBodies)
            defer { cursor.close() }
            var out: [UInt64] = []
            var item = try cursor.seek(atLeast: Self.logPinKey(range.lowerBound))
            while let cur = item, cur.key.count == 9, cur.key[0] == UInt8(ascii: "i") {
                var r = BinaryReader(UnsafeRawBufferPointer(rebasing: cur.key[1...]), what: "log pin key")
                let index = try r.u64()
                if index > range.upperBound { break }
                out.append(index)
                item = try cursor.get(MDB_NEXT)
            }
            return out
        }
    }

    /// Copies every body kept in the raft log into the store's own chunks and drops the
    /// references, reading through `source` (for a spool copy sent as a snapshot to another node,
    /// whose raft log is not this one). A body `source` no longer holds keeps its reference (its
    /// message was removed by an entry after the copy, which the receiver applies next). Commits
    /// every 256 messages, each batch re-checking its references, so it may run while entries are
    /// applied. Returns (copied, missing). Blocks.
    @discardableResult
    public func materializeLogBodies(from source: any LogBodySource) throws -> (copied: Int, missing: Int) {
        var copied = 0
        var missing = 0
        var after: [UInt8] = [UInt8(ascii: "q")]
        while true {
            let batch: [(String, LogBodyRef)] = try read { txn in
                let cursor = try txn.cursor(dbLogBodies)
                defer { cursor.close() }
                var out: [(String, LogBodyRef)] = []
                var item = try cursor.seek(atLeast: after)
                if let cur = item, cur.key.elementsEqual(after) { item = try cursor.get(MDB_NEXT) }
                while let cur = item, cur.key.first == UInt8(ascii: "q"), out.count < 256 {
                    var r = BinaryReader(cur.value, what: "log body reference")
                    let ref = LogBodyRef(index: try r.u64(), offset: Int(try r.u32()), length: Int(try r.u32()))
                    out.append((String(decoding: UnsafeRawBufferPointer(rebasing: cur.key[1...]), as: UTF8.self), ref))
                    item = try cursor.get(MDB_NEXT)
                }
                return out
            }
            guard let last = batch.last else { break }
            after = Self.logBodyKey(last.0)
            // The copies need room the references did not: grow the map like a commit does (a
            // batch that found it full runs again after the growth, so its counts restart).
            let (batchCopied, batchMissing) = try growingMap(needed: batch.reduce(0) { $0 + 2 * $1.1.length }) {
                var copiedHere = 0
                var missingHere = 0
                try withWriteTransaction { txn in
                    for (id, ref) in batch {
                        // The applier may have removed it since the read: never leave orphan chunks.
                        guard try logBodyRef(id, in: txn) == ref else { continue }
                        let body: [UInt8]? = try source.withEntryBytes(index: ref.index, offset: ref.offset,
                                                                       length: ref.length) { Array($0) }
                        guard let body else {
                            missingHere += 1
                            continue
                        }
                        try putBody(body, queueID: id, in: txn)
                        _ = try deleteLogBodyRef(id, in: txn)
                        copiedHere += 1
                    }
                }
                return (copiedHere, missingHere)
            }
            copied += batchCopied
            missing += batchMissing
        }
        return (copied, missing)
    }

    /// Runs `body` in a write transaction and commits it (fsynced when the store is durable).
    func withWriteTransaction(_ body: (LMDBTransaction) throws -> Void) throws {
        try withOpenEnv {
            var txnp: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, 0, &txnp)
            if rc == MDB_MAP_RESIZED { throw MapResized() }
            guard rc == 0, let txnPtr = txnp else { throw StoreError.lmdb(rc, "mdb_txn_begin (write)") }
            do {
                try body(LMDBTransaction(txn: txnPtr))
            } catch {
                mdb_txn_abort(txnPtr)
                throw error
            }
            let crc = mdb_txn_commit(txnPtr)
            guard crc == 0 else { throw StoreError.lmdb(crc, "mdb_txn_commit") }
        }
    }
}
