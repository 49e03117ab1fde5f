import CLMDB

/// Exact lookups and writes through a cursor: a cursor stays on its leaf page, so ascending keys
/// that lie on the same page (one endpoint's calls, in sequence order) are found without a
/// descent from the root each, and the item found is deleted without looking it up again.
extension LMDBCursor {
    /// Positions at `key` exactly (`MDB_SET_KEY`): its value (borrowed, see ``LMDBTransaction``),
    /// or nil when absent.
    func find(_ key: [UInt8]) throws -> UnsafeRawBufferPointer? {
        var v = MDB_val()
        let rc = key.withUnsafeBytes { kb -> Int32 in
            var k = MDB_val(mv_size: kb.count, mv_data: UnsafeMutableRawPointer(mutating: kb.baseAddress))
            return mdb_cursor_get(cursor, &k, &v, MDB_SET_KEY)
        }
        if rc == MDB_NOTFOUND { return nil }
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_cursor_get") }
        return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
    }

    /// Deletes the item the cursor is on (`mdb_cursor_del`). Write transactions only.
    func deleteCurrent() throws {
        let rc = mdb_cursor_del(cursor, 0)
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_cursor_del") }
    }

    /// Stores `value` under `key` unless the key is there (`MDB_NOOVERWRITE`): nil when it
    /// stored, else the value already stored (borrowed), left unchanged. Write transactions only.
    func putIfAbsent(_ key: [UInt8], _ value: [UInt8]) throws -> UnsafeRawBufferPointer? {
        var existing: UnsafeRawBufferPointer?
        let rc = key.withUnsafeBytes { kb in
            value.withUnsafeBytes { vb -> Int32 in
                var k = MDB_val(mv_size: kb.count, mv_data: UnsafeMutableRawPointer(mutating: kb.baseAddress))
                var v = MDB_val(mv_size: vb.count, mv_data: UnsafeMutableRawPointer(mutating: vb.baseAddress))
                let rc = mdb_cursor_put(cursor, &k, &v, UInt32(MDB_NOOVERWRITE))
                if rc == MDB_KEYEXIST { existing = UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size) }
                return rc
            }
        }
        if rc == MDB_KEYEXIST { return existing }
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_cursor_put") }
        return nil
    }
}
