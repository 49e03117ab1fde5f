import CLMDB

extension SpoolStore {
    /// Entries and leaf pages of one table, by table name (tests: how full copy-on-write keeps
    /// the leaves). Any thread; one read transaction.
    func leafStatistics() throws -> [String: (entries: Int, leafPages: Int)] {
        let tables: [(String, MDB_dbi)] = [("messages", dbMessages), ("bodies", dbBodies), ("events", dbEvents)]
        return try read { txn in
            var out: [String: (entries: Int, leafPages: Int)] = [:]
            for (name, dbi) in tables {
                var stat = MDB_stat()
                let rc = mdb_stat(txn.txn, dbi, &stat)
                guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_stat \(name)") }
                out[name] = (stat.ms_entries, stat.ms_leaf_pages)
            }
            return out
        }
    }
}
