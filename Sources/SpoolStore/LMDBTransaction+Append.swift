import CLMDB

extension LMDBTransaction {
    /// Stores `value` under `key` like ``put(_:_:_:flags:)``, trying `MDB_APPEND` first.
    ///
    /// Keys that grow with time (queue IDs, event keys, body chunks) usually land after the last
    /// key of their table. Inserted in the ordinary way, each such key makes LMDB split the last
    /// leaf in the middle, so the table's leaves stay half full and every commit copies (and
    /// writes) twice the leaf pages it needs; an append split leaves the old leaf full. When `key`
    /// does not sort after the table's last key LMDB refuses the append with `MDB_KEYEXIST`
    /// before changing anything, and the key is stored the ordinary way (replacing any value).
    func putPreferringAppend(_ dbi: MDB_dbi, _ key: [UInt8], _ value: UnsafeRawBufferPointer) throws {
        let rc = key.withUnsafeBytes { k -> Int32 in
            var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            var vv = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
            return mdb_put(txn, dbi, &kv, &vv, UInt32(MDB_APPEND))
        }
        if rc == MDB_KEYEXIST { return try put(dbi, key, value) }
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_put (append)") }
    }

    /// ``putPreferringAppend(_:_:_:)`` for a byte array.
    func putPreferringAppend(_ dbi: MDB_dbi, _ key: [UInt8], _ value: [UInt8]) throws {
        try value.withUnsafeBytes { try putPreferringAppend(dbi, key, $0) }
    }
}
