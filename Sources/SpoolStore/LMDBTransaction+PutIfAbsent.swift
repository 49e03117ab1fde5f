import CLMDB

extension LMDBTransaction {
    /// Stores `value` under `key` unless the key is there (`MDB_NOOVERWRITE`): nil when it stored,
    /// else the value already stored (borrowed, see ``LMDBTransaction``), left unchanged. One
    /// B-tree descent where a `get` and a `put` take two.
    func putIfAbsent(_ dbi: MDB_dbi, key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws
        -> UnsafeRawBufferPointer? {
        var kv = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var vv = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        let rc = mdb_put(txn, dbi, &kv, &vv, UInt32(MDB_NOOVERWRITE))
        if rc == MDB_KEYEXIST { return UnsafeRawBufferPointer(start: vv.mv_data, count: vv.mv_size) }
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_put") }
        return nil
    }
}
