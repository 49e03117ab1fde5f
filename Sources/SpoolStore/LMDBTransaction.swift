import CLMDB

/// Thin wrapper over an `MDB_txn*`: typed get/put/delete that turn every LMDB
/// return code into a ``StoreError`` via ``StoreError/lmdb(_:_:)``.
///
/// Borrowed buffers returned by reads point into the memory map and are valid
/// only until the transaction ends (or, in a write transaction, until the next
/// write). A write transaction must be used only on the thread that began it.
struct LMDBTransaction {
    let txn: OpaquePointer

    /// Looks up `key`; nil when absent.
    func get(_ dbi: MDB_dbi, _ key: [UInt8]) throws -> UnsafeRawBufferPointer? {
        var value = MDB_val()
        let rc = key.withUnsafeBytes { k -> Int32 in
            var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            return mdb_get(txn, dbi, &kv, &value)
        }
        if rc == MDB_NOTFOUND { return nil }
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_get") }
        return UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
    }

    /// Looks up the key in the buffer `key` (no array); nil when absent.
    func get(_ dbi: MDB_dbi, key: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        var kv = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var value = MDB_val()
        let rc = mdb_get(txn, dbi, &kv, &value)
        if rc == MDB_NOTFOUND { return nil }
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_get") }
        return UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
    }

    /// Stores `value` under `key`, replacing any existing value.
    func put(_ dbi: MDB_dbi, _ key: [UInt8], _ value: UnsafeRawBufferPointer, flags: Int32 = 0) throws {
        try key.withUnsafeBytes { try put(dbi, key: $0, value, flags: flags) }
    }

    /// Stores `value` under the key in the buffer `key` (no array), replacing any existing value.
    func put(_ dbi: MDB_dbi, key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, flags: Int32 = 0) throws {
        var kv = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var vv = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        let rc = mdb_put(txn, dbi, &kv, &vv, UInt32(flags))
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_put") }
    }

    /// Stores a byte array under `key`.
    func put(_ dbi: MDB_dbi, _ key: [UInt8], _ value: [UInt8], flags: Int32 = 0) throws {
        try value.withUnsafeBytes { try put(dbi, key, $0, flags: flags) }
    }

    /// Deletes `key`; returns false when it was absent.
    @discardableResult
    func delete(_ dbi: MDB_dbi, _ key: [UInt8]) throws -> Bool {
        let rc = key.withUnsafeBytes { k -> Int32 in
            var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            return mdb_del(txn, dbi, &kv, nil)
        }
        if rc == MDB_NOTFOUND { return false }
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_del") }
        return true
    }

    /// Opens a cursor; the caller must `close()` it before the transaction ends.
    func cursor(_ dbi: MDB_dbi) throws -> LMDBCursor {
        var c: OpaquePointer?
        let rc = mdb_cursor_open(txn, dbi, &c)
        guard rc == 0, let c else { throw StoreError.lmdb(rc, "mdb_cursor_open") }
        return LMDBCursor(cursor: c)
    }

    /// The number of entries in table `dbi` as this transaction sees it (`mdb_stat`: O(1), reads
    /// the table's root record only).
    func entries(_ dbi: MDB_dbi) throws -> Int {
        var stat = MDB_stat()
        let rc = mdb_stat(txn, dbi, &stat)
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_stat") }
        return stat.ms_entries
    }
}

/// A positioned LMDB cursor; returned key/value buffers are borrowed (see ``LMDBTransaction``).
struct LMDBCursor {
    let cursor: OpaquePointer

    /// Runs a positioning operation without a key (FIRST, LAST, NEXT, PREV).
    func get(_ op: MDB_cursor_op) throws -> (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
        var k = MDB_val()
        var v = MDB_val()
        let rc = mdb_cursor_get(cursor, &k, &v, op)
        if rc == MDB_NOTFOUND { return nil }
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_cursor_get") }
        return (UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    /// Positions at the first key ≥ `key` (MDB_SET_RANGE).
    func seek(atLeast key: [UInt8]) throws -> (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
        var v = MDB_val()
        var k = MDB_val()
        let rc = key.withUnsafeBytes { kb -> Int32 in
            k = MDB_val(mv_size: kb.count, mv_data: UnsafeMutableRawPointer(mutating: kb.baseAddress))
            return mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE)
        }
        if rc == MDB_NOTFOUND { return nil }
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_cursor_get") }
        return (UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    func close() { mdb_cursor_close(cursor) }
}

extension UnsafeRawBufferPointer {
    /// True when the buffer begins with `prefix`.
    func hasPrefix(_ prefix: [UInt8]) -> Bool {
        guard count >= prefix.count else { return false }
        for i in 0..<prefix.count where self[i] != prefix[i] { return false }
        return true
    }
}
